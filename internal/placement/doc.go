// Package placement spreads a region's desired data-plane state over the hosts
// that serve its availability zones, as AWS places resources in zones: Split
// gives each host its part (agent.State), Realized reads the hosts' reports
// back as one, Traffic adds up their traffic counters, and Publisher keeps
// each remote host's latest part under a revision its agent watches.
//
// With only the local host (the server's in-process agent) every part is the
// whole state: the one-host default is unchanged.
package placement
