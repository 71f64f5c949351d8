// Package translate carries endpoint connections through the kernel, as AWS
// Hyperplane does, instead of terminating them in the user-space relay.
//
// Each VPC namespace that has something on the path gets one nftables table,
// "ip strait_transit", built through netlink with github.com/google/nftables:
//
//   - Entries (consumer side): a connection to an endpoint ENI address and
//     listener port is DNATed in prerouting to the transit address and port of
//     the load balancer node that serves it (one chain per entry, reached
//     through the verdict map "entries"), with the listener's idle timeout as
//     a conntrack timeout policy; leaving by the VPC's transit link it is
//     masqueraded to the VPC's transit address.
//   - Exits (provider side): a connection arriving from the transit link at a
//     node's transit address and port is DNATed to a target picked per flow by
//     hash (jhash of the source address and port into a fixed number of slots,
//     each slot a map element holding one eligible target, so that health and
//     draining change map elements, never rules), and SNATed to the node's ENI
//     address: the target sees the node as its peer.
//   - The forward chain lets only translated flows (and their replies) in from
//     and out to the transit link, resets TCP packets of flows the namespace
//     does not know (a cut flow's next packet gets a reset), and counts each
//     endpoint ENI's new flows and bytes both ways in named counters.
//
// Replies follow conntrack; no process touches a translated flow's bytes, so
// flows outlive the Strait process. Cutting flows (a drained target, a rejected
// or deleted endpoint) deletes their conntrack entries in one namespace; the
// next packet of either end is reset where its entry is gone, which ends the
// other half.
package translate
