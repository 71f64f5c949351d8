// Package network holds the operations on the EC2 network an account builds:
// VPCs, subnets and their private addresses, security groups and their rules,
// network interfaces, instances, route tables and network ACLs. Each operation
// checks its input and the caller's ownership and commits in one transaction.
package network

import "strait/internal/control/core"

// Network runs the network operations.
type Network struct {
	*core.Base
}

// New returns the network operations over b.
func New(b *core.Base) *Network { return &Network{Base: b} }
