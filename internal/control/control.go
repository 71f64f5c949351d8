// Package control holds Strait's operations — CreateVpc, CreateLoadBalancer,
// CreateVpcEndpoint, AcceptVpcEndpointConnections and the rest. Each operation checks
// its input and the caller's ownership, allocates IDs and addresses, and commits its
// whole effect in one store transaction. Both API adapters (AWS Query and native JSON)
// call these operations, so they cannot drift apart.
package control

import (
	"sync"

	"strait/internal/control/core"
	"strait/internal/control/elb"
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

	resolverMu sync.Mutex
	resolver   string // overrides cfg.Resolver when set (SetResolver)
}

// New returns a Control over st.
func New(st *store.Store, cfg Config) *Control {
	b := core.New(st, cfg)
	net := network.New(b)
	return &Control{Base: b, Network: net, ELB: elb.New(b, net)}
}
