package netns

import "net/netip"

// VPC is a network namespace acting as the VPC router, with each subnet's gateway
// (base + 1) and the VPC resolver's address (CIDR base + 2).
type VPC struct {
	ID      string
	CIDR    netip.Prefix
	Subnets []Subnet
	// TransitIP is the VPC namespace's address on the link to the host's transit
	// namespace (in model.TransitRange); invalid when it has none yet.
	TransitIP netip.Addr
}

// Subnet is a range of a VPC in one zone.
type Subnet struct {
	ID   string
	CIDR netip.Prefix
	AZ   string
}

// Instance is a namespace with one interface in its subnet.
type Instance struct {
	ID       string
	VpcID    string
	SubnetID string
	IP       netip.Addr
}

// ENI is an address a Strait-managed interface holds in a subnet.
type ENI struct {
	ID       string
	SubnetID string
	AZ       string
	IP       netip.Addr
}
