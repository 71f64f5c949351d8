package ec2tags

import (
	"context"
	"fmt"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Tags on endpoint service permissions (vpce-svc-perm-…, resource type
// "vpc-endpoint-service-permission"): the permissions live inside their service's
// record, so their tags do too (model.Permission.Tags), and only the service's
// owner can see or change them.

// permissionNotFound is the error for a permission ID that is not one of the
// caller's services' allowed principals.
func permissionNotFound(id string) error {
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindPermission, ID: id,
		Reason: model.ReasonPermissionNotFound,
		Msg:    fmt.Sprintf("The Vpc Endpoint Service Permission Id '%s' does not exist", id)}
}

// resolvePermission finds the service of the account that holds permission id.
func (c *Tagger) resolvePermission(ctx context.Context, acct, id string) (taggable, error) {
	svcs, err := c.pl.EndpointServices(ctx, acct)
	if err != nil {
		return taggable{}, err
	}
	for _, s := range svcs {
		for _, p := range s.Principals {
			if p.ID == id {
				return taggable{id: id, kind: model.KindPermission, service: s.ID}, nil
			}
		}
	}
	return taggable{}, permissionNotFound(id)
}

// retagPermission rewrites, inside tx, the tags of one permission of a service
// that acct owns.
func retagPermission(tx *store.Tx, acct string, t taggable, change func(model.Tags) (model.Tags, error)) error {
	svc, err := core.TxGet[model.EndpointService](tx, model.KindService, t.service)
	if err != nil || svc.Owner != acct {
		return permissionNotFound(t.id)
	}
	for i, p := range svc.Principals {
		if p.ID != t.id {
			continue
		}
		tags, err := change(p.Tags.Clone())
		if err != nil {
			return err
		}
		svc.Principals[i].Tags = tags.Clone()
		return tx.Put(core.Key(model.KindService, svc.ID), svc)
	}
	return permissionNotFound(t.id)
}

// permissionTags lists the tags of the permissions of the account's services.
func (c *Tagger) permissionTags(ctx context.Context, acct string) ([]ResourceTag, error) {
	svcs, err := c.pl.EndpointServices(ctx, acct)
	if err != nil {
		return nil, err
	}
	var out []ResourceTag
	for _, s := range svcs {
		for _, p := range s.Principals {
			for k, v := range p.Tags {
				out = append(out, ResourceTag{ResourceID: p.ID, Kind: model.KindPermission, Key: k, Value: v})
			}
		}
	}
	return out, nil
}
