// Package hostagent runs a host's data plane: the network namespaces,
// firewall, proxy and agent of one host (NewDataplane, which the server uses
// for its in-process agent too), and, on a host that joined with `strait
// agent`, the loop that watches the host's part of the region's desired state
// from the server, applies it with the same agent code and reports what it
// realized and its traffic back (Serve).
package hostagent
