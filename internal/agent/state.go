package agent

import (
	"net/netip"

	"strait/internal/agent/backbone"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
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
	// to (firewall.Rule.Group).
	Groups map[string][]netip.Addr
	// RemoteNodes maps the transit address of each load balancer node on
	// another host (agent.LoadBalancer.Transit) to that host's ID, for the
	// backbone to route; nil on a host alone (package placement).
	RemoteNodes map[netip.Addr]string
	// Peers are the other hosts of the backbone this host links to, with the
	// keys of each pair (package fleet); nil on a host alone. Remote subnets of
	// a host that is not a peer are not routed.
	Peers []backbone.Peer
	// RemoteLoadBalancers are the load balancers this host's endpoints use
	// that have nodes on other hosts, with only those nodes (their ENIs and
	// transit addresses, same order; RemoteNodes says where each is), for the
	// kernel path to reach when the host has no node of its own (package
	// placement). The proxy never sees them: it neither relays to nor
	// health-checks their targets.
	RemoteLoadBalancers []LoadBalancer
	// RemoteTargetGroups are the target groups of RemoteLoadBalancers'
	// listeners without their targets: what deciding between the kernel path
	// and the relay needs.
	RemoteTargetGroups []dataplane.TargetGroup
	// HostTransit is this host's own transit address (in
	// model.TransitFixed, model.Host.TransitIP): flows it sends to another
	// host's nodes over the backbone leave from it, so that their replies
	// come back to this host even where another host has the same VPC with
	// the same transit address. Invalid on a host alone.
	HostTransit netip.Addr
}

// VPC is a VPC's namespace (netns.VPC) with the names its resolver answers.
type VPC struct {
	netns.VPC
	// DNS holds the names the VPC resolver answers: lower-case, fully qualified
	// (trailing dot) → A records. Everything else is NXDOMAIN.
	DNS map[string][]netip.Addr
	// Remote holds the VPC's subnets that other hosts serve, with their host,
	// for the backbone to route; netns.VPC.Subnets holds the local ones (a
	// bridge each). Nil on a host alone (package placement).
	Remote []RemoteSubnet
}

// RemoteSubnet is a subnet of a VPC that another host serves.
type RemoteSubnet struct {
	netns.Subnet
	Host string // the ID of the host that serves the subnet's zone
}

// Instance is an instance's namespace (netns.Instance) with its security
// groups' rules.
type Instance struct {
	netns.Instance
	Firewall firewall.Rules
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
	ENIs          []netns.ENI
	// Firewall holds the ingress rules of the endpoint's security groups.
	Firewall firewall.Rules
	Open     bool
}

// LoadBalancer is a network load balancer with its nodes' ENIs.
type LoadBalancer struct {
	dataplane.LoadBalancer
	ENIs []netns.ENI // one per node, same order as Nodes
	// Transit holds each node's transit address (model.LBNode.TransitIP), same
	// order as Nodes; an invalid address where a node has none yet.
	Transit []netip.Addr
	// Firewall holds the ingress rules of its security groups; nil when it has none.
	Firewall *firewall.Rules
	// EnforceOnPrivateLink applies Firewall to traffic that arrives through endpoints.
	EnforceOnPrivateLink bool
}
