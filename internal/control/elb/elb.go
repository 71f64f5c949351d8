// Package elb holds the Elastic Load Balancing (v2) operations on network load
// balancers: load balancers and their nodes, target groups and targets,
// listeners, attributes, tags and target health as the API reports it. Each
// operation checks its input and the caller's ownership and commits in one
// transaction.
package elb

import (
	"strait/internal/control/core"
	"strait/internal/control/network"
)

// ELB runs the load balancer operations.
type ELB struct {
	*core.Base
	net *network.Network
}

// New returns the load balancer operations over b, placing nodes with net.
func New(b *core.Base, net *network.Network) *ELB { return &ELB{Base: b, net: net} }
