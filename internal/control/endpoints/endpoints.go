// Package endpoints holds the PrivateLink operations of EC2: endpoint services
// (configuration, allowed principals, private DNS names and their verification),
// interface endpoints (ENIs, security groups, DNS entries), connection acceptance
// and rejection, and connection notifications. Each operation checks its input and
// the caller's ownership and commits in one transaction.
package endpoints

import (
	"sync"

	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/control/network"
)

// PrivateLink runs the PrivateLink operations.
type PrivateLink struct {
	*core.Base
	net *network.Network
	elb *elb.ELB

	resolverMu sync.Mutex
	resolver   string // overrides the configured Resolver when set (SetResolver)
}

// New returns the PrivateLink operations over b, placing ENIs with net and
// publishing the load balancers of lbs.
func New(b *core.Base, net *network.Network, lbs *elb.ELB) *PrivateLink {
	return &PrivateLink{Base: b, net: net, elb: lbs}
}
