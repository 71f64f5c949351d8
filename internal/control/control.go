// Package control is Strait's operations — CreateVpc, CreateLoadBalancer,
// CreateVpcEndpoint, AcceptVpcEndpointConnections and the rest — as the one value
// both API adapters (AWS Query and native JSON) and the console call, so they
// cannot drift apart. The operations live in one package per resource family:
//
//	core       configuration, zones, Update (one transaction), typed reads, read cache
//	network    VPCs, subnets and addresses, security groups, ENIs, instances
//	elb        load balancers, target groups, listeners, targets
//	endpoints  endpoint services, interface endpoints, connections, notifications
//	published  published services and their PrivateLink resources
//	accounts   accounts and access keys
//	ec2tags    EC2 tags across every taggable resource
//
// Each operation checks its input and the caller's ownership, allocates IDs and
// addresses, and commits its whole effect in one store transaction. Writing back
// what the data plane realized is the reconciler's (internal/reconcile/status).
package control

import (
	"strait/internal/control/accounts"
	"strait/internal/control/core"
	"strait/internal/control/ec2tags"
	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
	"strait/internal/control/published"
	"strait/internal/store"
)

// Config sets the region the server answers for and the DNS domain of endpoint names.
type Config = core.Config

// Control runs operations against the store.
type Control struct {
	*core.Base
	*network.Network
	*elb.ELB
	*endpoints.PrivateLink
	*published.Published
	*accounts.Accounts
	*ec2tags.Tagger
}

// New returns a Control over st.
func New(st *store.Store, cfg Config) *Control {
	b := core.New(st, cfg)
	net := network.New(b)
	lbs := elb.New(b, net)
	pl := endpoints.New(b, net, lbs)
	return &Control{
		Base: b, Network: net, ELB: lbs, PrivateLink: pl,
		Published: published.New(b, net, pl),
		Accounts:  accounts.New(b),
		Tagger:    ec2tags.New(b, net, pl),
	}
}
