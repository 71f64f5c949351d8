package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateSecurityGroupInput is what CreateSecurityGroup needs.
type CreateSecurityGroupInput struct {
	Name        string
	Description string
	VpcID       string
	Tags        model.Tags
}

// sgNameChars are the characters EC2 allows in VPC security group names and
// descriptions.
const sgNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-:/()#,@[]+=&;{}!$*"

// CreateSecurityGroup creates a security group in one of the account's VPCs. Like
// EC2, the new group allows all outbound IPv4 traffic and no inbound traffic.
func (c *Network) CreateSecurityGroup(ctx context.Context, acct string, in CreateSecurityGroupInput) (model.SecurityGroup, error) {
	if err := checkSGText("GroupName", in.Name); err != nil {
		return model.SecurityGroup{}, err
	}
	if err := checkSGText("GroupDescription", in.Description); err != nil {
		return model.SecurityGroup{}, err
	}
	if strings.EqualFold(in.Name, "default") {
		return model.SecurityGroup{}, model.WithReason(model.ErrInvalid, model.ReasonReservedGroupName, "The security group 'default' is reserved")
	}
	if strings.HasPrefix(strings.ToLower(in.Name), "sg-") {
		return model.SecurityGroup{}, model.Invalid("Group names may not be in the format sg-*.")
	}
	var v model.Vpc
	var err error
	if in.VpcID == "" {
		v, err = c.defaultVpcOrNone(ctx, acct, "GroupName is only supported for EC2-Classic and default VPC.")
	} else {
		v, err = c.Vpc(ctx, acct, in.VpcID)
	}
	if err != nil {
		return model.SecurityGroup{}, err
	}
	g := model.SecurityGroup{
		ID: model.NewID(model.PrefixSG), Owner: acct, VpcID: v.ID, Name: in.Name,
		Description: in.Description, Tags: in.Tags, Created: c.Now().UTC(),
	}
	g.Rules = []model.SGRule{{ID: model.NewID(model.PrefixRule), Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}
	err = c.Update(ctx, func(tx *store.Tx) error {
		if !tx.Exists(core.Key(model.KindVpc, v.ID)) {
			return model.NotFound(model.KindVpc, v.ID)
		}
		if tx.Exists(sgNameIndex(v.ID, g.Name)) {
			return model.Duplicate(model.KindSecurityGroup, g.Name, "The security group '%s' already exists for VPC '%s'", g.Name, v.ID)
		}
		if err := tx.Put(sgNameIndex(v.ID, g.Name), g.ID); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindSecurityGroup, g.ID), g)
	})
	return g, err
}

// sgNameIndex is the key that makes a group name unique in its VPC; EC2 compares
// names without regard to case.
func sgNameIndex(vpcID, name string) string { return sgNameKey(vpcID, strings.ToLower(name)) }

// checkSGText applies EC2's rules for security group names and descriptions.
func checkSGText(param, s string) error {
	if s == "" {
		return model.Missingf("The request must contain the parameter %s", param)
	}
	if len(s) > 255 {
		return model.Invalid("Value for parameter %s is invalid: it must be at most 255 characters long.", param)
	}
	for _, r := range s {
		if !strings.ContainsRune(sgNameChars, r) {
			return model.Invalid("Value (%s) for parameter %s is invalid. Character sets beyond ASCII are not supported.", s, param)
		}
	}
	return nil
}

// SGNotFound is EC2's error for a security group the caller cannot see.
func SGNotFound(id string) *model.Error {
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindSecurityGroup, ID: id, Msg: fmt.Sprintf("The security group '%s' does not exist", id)}
}

// SecurityGroup returns one of the account's security groups.
func (c *Network) SecurityGroup(ctx context.Context, acct, id string) (model.SecurityGroup, error) {
	if err := model.CheckID(model.KindSecurityGroup, model.PrefixSG, id); err != nil {
		return model.SecurityGroup{}, err
	}
	g, err := core.Get[model.SecurityGroup](ctx, c.Store(), model.KindSecurityGroup, id)
	if err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return model.SecurityGroup{}, SGNotFound(id)
		}
		return model.SecurityGroup{}, err
	}
	if g.Owner != acct {
		return model.SecurityGroup{}, SGNotFound(id)
	}
	return g, nil
}

// SecurityGroupByName returns the account's security group with the given name. In
// EC2 a name alone identifies a group of the default VPC; a name that no group of
// the default VPC has must be unique among the account's groups to identify one.
func (c *Network) SecurityGroupByName(ctx context.Context, acct, name string) (model.SecurityGroup, error) {
	all, err := c.SecurityGroups(ctx, acct)
	if err != nil {
		return model.SecurityGroup{}, err
	}
	if dv, ok, err := c.DefaultVpc(ctx, acct); err != nil {
		return model.SecurityGroup{}, err
	} else if ok {
		for _, g := range all {
			if g.VpcID == dv.ID && g.Name == name {
				return g, nil
			}
		}
	}
	var found []model.SecurityGroup
	for _, g := range all {
		if g.Name == name {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return model.SecurityGroup{}, &model.Error{Err: model.ErrNotFound, Kind: model.KindSecurityGroup, ID: name,
			Msg: fmt.Sprintf("The security group '%s' does not exist", name)}
	case 1:
		return found[0], nil
	}
	return model.SecurityGroup{}, model.Invalid("Several security groups are named '%s' (one per VPC); identify the group by its ID instead of its name.", name)
}

// SecurityGroups lists the account's security groups.
func (c *Network) SecurityGroups(ctx context.Context, acct string) ([]model.SecurityGroup, error) {
	all, err := core.List[model.SecurityGroup](ctx, c.Store(), model.KindSecurityGroup)
	return core.FilterOwner(all, acct, func(g model.SecurityGroup) string { return g.Owner }), err
}

// CheckSecurityGroups checks that every listed group exists, is the account's and
// belongs to the VPC; load balancers and endpoints call it before using groups.
func (c *Network) CheckSecurityGroups(ctx context.Context, acct, vpcID string, ids []string) error {
	for _, id := range ids {
		g, err := c.SecurityGroup(ctx, acct, id)
		if err != nil {
			return err
		}
		if g.VpcID != vpcID {
			return &model.Error{Err: model.ErrInvalid, Kind: model.KindSecurityGroup, ID: id, Reason: model.ReasonParameter,
				Msg: fmt.Sprintf("security group %s is not in VPC %s", id, vpcID)}
		}
	}
	return nil
}

// TxHaveGroups checks, inside tx, that the security groups still exist: a
// DeleteSecurityGroup may have committed since CheckSecurityGroups read them, and
// reading them here also makes a concurrent deletion on another server conflict.
func TxHaveGroups(tx *store.Tx, ids []string) error {
	for _, id := range ids {
		if !tx.Exists(core.Key(model.KindSecurityGroup, id)) {
			return SGNotFound(id)
		}
	}
	return nil
}

// DeleteSecurityGroup deletes a security group that nothing uses. A VPC's default
// group goes only with its VPC.
func (c *Network) DeleteSecurityGroup(ctx context.Context, acct, id string) error {
	g, err := c.SecurityGroup(ctx, acct, id)
	if err != nil {
		return err
	}
	if g.Name == "default" {
		return model.WithReason(model.ErrInvalid, model.ReasonCannotDelete, "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", id)
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		g, err := core.TxGet[model.SecurityGroup](tx, model.KindSecurityGroup, id)
		if err != nil {
			return SGNotFound(id)
		}
		// Mutations of this process are serialized by c.update, so the listing
		// below cannot miss a reference committed concurrently by this server.
		if dep, err := c.sgDependency(ctx, g.ID); err != nil {
			return err
		} else if dep != "" {
			return model.InUse(model.KindSecurityGroup, id, "resource %s has a dependent object (%s)", id, dep)
		}
		tx.Delete(core.Key(model.KindSecurityGroup, id))
		tx.Delete(sgNameIndex(g.VpcID, g.Name))
		return nil
	})
}

// sgDependency names the first resource that uses a security group: another
// group's rule, a network interface, a load balancer or an endpoint.
func (c *Network) sgDependency(ctx context.Context, id string) (string, error) {
	sgs, err := core.List[model.SecurityGroup](ctx, c.Store(), model.KindSecurityGroup)
	if err != nil {
		return "", err
	}
	for _, g := range sgs {
		if g.ID == id {
			continue
		}
		for _, r := range g.Rules {
			if r.GroupID == id {
				return "a rule of security group " + g.ID, nil
			}
		}
	}
	enis, err := core.List[model.NetworkInterface](ctx, c.Store(), model.KindENI)
	if err != nil {
		return "", err
	}
	for _, e := range enis {
		if slices.Contains(e.Groups, id) {
			return "network interface " + e.ID, nil
		}
	}
	lbs, err := core.List[model.LoadBalancer](ctx, c.Store(), model.KindLoadBalancer)
	if err != nil {
		return "", err
	}
	for _, lb := range lbs {
		if slices.Contains(lb.SecurityGroups, id) {
			return "load balancer " + lb.Name, nil
		}
	}
	eps, err := core.List[model.Endpoint](ctx, c.Store(), model.KindEndpoint)
	if err != nil {
		return "", err
	}
	for _, ep := range eps {
		if slices.Contains(ep.SecurityGroups, id) {
			return "VPC endpoint " + ep.ID, nil
		}
	}
	return "", nil
}
