// Package published holds the operations of Strait's own provider workflow: a
// published service is a named set of components (name, port, targets) in one of
// the provider's VPCs, and its PrivateLink resource (allowed principals,
// acceptance, private DNS name) publishes it through an endpoint service, as the
// vendor guides do. The reconciler builds the load balancer, listeners and
// endpoint service a PrivateLink resource asks for.
package published

import (
	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
)

// Published runs the published-service operations.
type Published struct {
	*core.Base
	net *network.Network
	pl  *endpoints.PrivateLink
}

// New returns the published-service operations over b.
func New(b *core.Base, net *network.Network, pl *endpoints.PrivateLink) *Published {
	return &Published{Base: b, net: net, pl: pl}
}
