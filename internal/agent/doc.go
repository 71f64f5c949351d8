// Package agent makes the host match the desired state: each VPC is a network
// namespace acting as its router, each instance a namespace wired into its subnet,
// endpoint and load balancer ENIs are addresses in the VPC namespaces, security
// groups are nftables rules inside the namespaces, each VPC has a DNS resolver at
// its CIDR base + 2, and the data plane listens on the ENIs. Everything it creates
// is named after the server's tag so that a restart re-adopts it and `strait down`
// removes it.
package agent
