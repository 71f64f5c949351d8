// Package netns manages the host's network namespaces for one Strait server:
// each VPC is a namespace acting as its router (a bridge per subnet holding the
// gateway, the resolver address on lo), each instance a namespace wired into
// its subnet by a veth pair, and ENI addresses are /32s on the subnets'
// bridges. A transit namespace links the VPCs for the kernel forwarding path
// (LinkTransit, SetTransitRoutes). It creates sockets inside the namespaces
// (listeners, dials from a pool of spare sockets), runs code and programs in
// them (Do, Exec), and finds and removes what it created: every name carries
// the server's tag, so that a restarted server re-adopts its namespaces
// (Managed) and `strait down` removes them (Down).
package netns
