// Package control holds Strait's operations — CreateVpc, CreateLoadBalancer,
// CreateVpcEndpoint, AcceptVpcEndpointConnections and the rest. Each operation checks
// its input and the caller's ownership, allocates IDs and addresses, and commits its
// whole effect in one store transaction. Both API adapters (AWS Query and native JSON)
// call these operations, so they cannot drift apart.
package control

import (
	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
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
}

// New returns a Control over st.
func New(st *store.Store, cfg Config) *Control {
	b := core.New(st, cfg)
	net := network.New(b)
	lbs := elb.New(b, net)
	return &Control{Base: b, Network: net, ELB: lbs, PrivateLink: endpoints.New(b, net, lbs)}
}
