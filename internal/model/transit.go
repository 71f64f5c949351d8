package model

import "net/netip"

// TransitRange is the address range of the kernel forwarding path between VPCs
// on a host (the transit namespace, each VPC's transit interface and each load
// balancer node's transit address). No VPC or subnet may overlap it: CreateVpc
// and CreateSubnet refuse such CIDRs.
var TransitRange = netip.MustParsePrefix("169.254.0.0/16")

// TransitGateway is the transit namespace's own address, the next hop of every
// VPC's route to TransitRange.
var TransitGateway = netip.MustParseAddr("169.254.0.1")

// TransitFixed holds the fixed addresses of TransitRange (TransitGateway among
// them); VPCs and load balancer nodes get their transit addresses from the
// rest of the range.
var TransitFixed = netip.MustParsePrefix("169.254.0.0/24")

// TransitLocalHost is the transit address of the server's in-process data
// plane (host "local"); hosts that run `strait agent` get theirs from the rest
// of TransitFixed at enrolment (model.Host.TransitIP). A host's transit
// address is where the flows it sends to another host's load balancer nodes
// come from, so that their replies find their way back to it.
var TransitLocalHost = netip.MustParseAddr("169.254.0.2")

// IsHostTransit reports whether a can be a host's transit address: in
// TransitFixed, neither its first nor its last address nor TransitGateway.
func IsHostTransit(a netip.Addr) bool {
	if !a.Is4() || !TransitFixed.Contains(a) || a == TransitGateway {
		return false
	}
	b := a.As4()
	return b[3] != 0 && b[3] != 255
}

// RelayAttribute is the Strait target-group attribute that sends a listener's
// connections through the user-space relay (which retries another target when a
// dial fails before the first byte) instead of translating them in the kernel.
// Target groups with proxy_protocol_v2.enabled always use the relay.
const RelayAttribute = "strait.relay.enabled"

// KindTransitAddress is the store kind of an allocated transit address; its key
// is the address as eight hex digits (see control/network).
const KindTransitAddress = "transit"

// TransitAddress is a transit address allocated to a VPC or a load balancer
// node, and who holds it (the VPC ID, or the node's ENI ID).
type TransitAddress struct {
	IP    string `json:"ip"`
	Owner string `json:"owner"`
}
