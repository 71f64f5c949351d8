package agent

import (
	"net/netip"

	"strait/internal/dataplane"
)

// State is the whole desired state of the host's data plane, built from the store
// by the reconciler. Apply makes the host match it: what is not in it is removed.
type State struct {
	VPCs      []VPC
	Instances []Instance
	Endpoints []Endpoint
	// LoadBalancers and TargetGroups are handed to the data plane as they are; the
	// agent adds each node's address to its subnet and opens a listener on every
	// node for direct traffic from the provider VPC.
	LoadBalancers []LoadBalancer
	TargetGroups  []dataplane.TargetGroup
	// Groups holds the member addresses of the security groups that rules refer
	// to (Rule.Group).
	Groups map[string][]netip.Addr
}

// VPC is a network namespace acting as the VPC router, with each subnet's gateway
// (base + 1) and the VPC resolver (CIDR base + 2).
type VPC struct {
	ID      string
	CIDR    netip.Prefix
	Subnets []Subnet
	// DNS holds the names the VPC resolver answers: lower-case, fully qualified
	// (trailing dot) → A records. Everything else is NXDOMAIN.
	DNS map[string][]netip.Addr
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
	Firewall Firewall
}

// ENI is an address a Strait-managed interface holds in a subnet.
type ENI struct {
	ID       string
	SubnetID string
	AZ       string
	IP       netip.Addr
}

// Endpoint is an interface endpoint: its ENIs exist in the consumer VPC whatever
// its state; while Open they listen on every listener port of the service's load
// balancers and forward to them.
type Endpoint struct {
	ID        string
	VpcID     string
	ServiceID string
	// LoadBalancers are the ARNs of the service's network load balancers.
	LoadBalancers []string
	ENIs          []ENI
	// Firewall holds the ingress rules of the endpoint's security groups.
	Firewall Firewall
	Open     bool
}

// LoadBalancer is a network load balancer with its nodes' ENIs.
type LoadBalancer struct {
	dataplane.LoadBalancer
	ENIs []ENI // one per node, same order as Nodes
	// Firewall holds the ingress rules of its security groups; nil when it has none.
	Firewall *Firewall
	// EnforceOnPrivateLink applies Firewall to traffic that arrives through endpoints.
	EnforceOnPrivateLink bool
}

// Firewall is the union of the rules of a set of security groups. Rules that
// reference groups name them (Rule.Group); State.Groups lists their members.
type Firewall struct {
	Ingress []Rule
	Egress  []Rule
	// AlsoIngress, when set, must admit inbound traffic too: the rules of a load
	// balancer's security groups that PrivateLink traffic to its endpoints must
	// also pass (EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic), evaluated
	// on the client's address.
	AlsoIngress []Rule
}

// Rule allows traffic of a protocol and port range from (ingress) or to (egress)
// a set of prefixes, or the members of a security group.
type Rule struct {
	Protocol string // "tcp", "udp", "icmp", "all", or a protocol number
	FromPort int32  // tcp/udp: port range; icmp: type (-1 all)
	ToPort   int32  // tcp/udp: port range; icmp: code (-1 all)
	Prefixes []netip.Prefix
	// Group, when set, is the security group whose members the rule admits
	// (State.Groups); Prefixes are then not used. Members come and go without
	// changing the rule.
	Group string
}
