package network

import (
	"context"
	"errors"

	"strait/internal/model"
	"strait/internal/store"
)

// Route tables and network ACLs derive from their VPC and have no records of their
// own; their tags live in a side record (tagsof/<id>).

// SideTags is the record holding the tags of a derived resource.
type SideTags struct {
	ID    string     `json:"id"`
	Owner string     `json:"owner"`
	VpcID string     `json:"vpcId"`
	Kind  string     `json:"kind"`
	Tags  model.Tags `json:"tags,omitempty"`
}

// SideTagsKey is the store key of the tags of a derived resource.
func SideTagsKey(id string) string { return "tagsof/" + id }

// DerivedTags returns the tags of a route table or network ACL, which the caller
// has found through a VPC of its account; nil when it has none.
func (c *Network) DerivedTags(ctx context.Context, id string) (model.Tags, error) {
	var rec SideTags
	if err := c.Store().Get(ctx, SideTagsKey(id), &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return rec.Tags, nil
}

// deleteDerivedTags removes the side records of a VPC's route table and network
// ACL, inside tx.
func deleteDerivedTags(tx *store.Tx, v model.Vpc) {
	tx.Delete(SideTagsKey(v.MainRouteTableID))
	tx.Delete(SideTagsKey(v.DefaultNetworkACLID))
}
