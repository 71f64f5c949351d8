// Package ec2tags holds the EC2 tag operations (CreateTags, DeleteTags,
// DescribeTags) across every taggable EC2 resource: records with tags of their
// own, security group rules, endpoint service permissions, and the route tables
// and network ACLs derived from a VPC.
package ec2tags

import (
	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
)

// Tagger runs the EC2 tag operations.
type Tagger struct {
	*core.Base
	net *network.Network
	pl  *endpoints.PrivateLink
}

// New returns the tag operations over b.
func New(b *core.Base, net *network.Network, pl *endpoints.PrivateLink) *Tagger {
	return &Tagger{Base: b, net: net, pl: pl}
}
