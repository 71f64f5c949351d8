package network

import (
	"context"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateVpcInput is what CreateVpc needs.
type CreateVpcInput struct {
	CIDR            string
	InstanceTenancy string
	Tags            model.Tags
}

// CreateVpc creates a VPC with its main route table, default network ACL and default
// security group.
func (c *Network) CreateVpc(ctx context.Context, acct string, in CreateVpcInput) (model.Vpc, error) {
	p, err := parseCIDR(in.CIDR, 16, 28, model.ReasonVpcRange)
	if err != nil {
		return model.Vpc{}, err
	}
	if err := checkNotTransit(p, model.ReasonVpcRange); err != nil {
		return model.Vpc{}, err
	}
	if in.InstanceTenancy == "" {
		in.InstanceTenancy = "default"
	}
	v, sg := c.newVpc(acct, p.String(), in.InstanceTenancy, in.Tags)
	err = c.Update(ctx, func(tx *store.Tx) error { return txPutVpc(tx, &v, sg) })
	return v, err
}

// newVpc is a new VPC record with its default security group.
func (c *Network) newVpc(acct, cidr, tenancy string, tags model.Tags) (model.Vpc, model.SecurityGroup) {
	v := model.Vpc{
		ID: model.NewID(model.PrefixVpc), Owner: acct, CIDR: cidr,
		CidrAssociationID: model.NewID(model.PrefixCidrAssoc), State: "available",
		InstanceTenancy: tenancy, EnableDNSSupport: true,
		MainRouteTableID: model.NewID(model.PrefixRouteTable), MainRouteAssocID: model.NewID(model.PrefixRTAssoc),
		DefaultNetworkACLID: model.NewID(model.PrefixACL), DefaultSecurityGroupID: model.NewID(model.PrefixSG),
		DhcpOptionsID: "dopt-" + model.RandomHex(17), Tags: tags, Created: c.Now().UTC(),
	}
	sg := model.SecurityGroup{
		ID: v.DefaultSecurityGroupID, Owner: acct, VpcID: v.ID, Name: "default",
		Description: "default VPC security group", Created: v.Created,
		Rules: []model.SGRule{
			{ID: model.NewID(model.PrefixRule), Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: v.DefaultSecurityGroupID, GroupOwner: acct},
			{ID: model.NewID(model.PrefixRule), Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"},
		},
	}
	return v, sg
}

// txPutVpc writes a new VPC, with a transit address allocated to it (set in
// *v), and its default security group.
func txPutVpc(tx *store.Tx, v *model.Vpc, sg model.SecurityGroup) error {
	var err error
	if v.TransitIP, err = TxAllocateTransit(tx, v.ID); err != nil {
		return err
	}
	if err := tx.Put(core.Key(model.KindVpc, v.ID), *v); err != nil {
		return err
	}
	if err := tx.Put(sgNameKey(v.ID, sg.Name), sg.ID); err != nil {
		return err
	}
	return tx.Put(core.Key(model.KindSecurityGroup, sg.ID), sg)
}

// Vpc returns one of the account's VPCs.
func (c *Network) Vpc(ctx context.Context, acct, id string) (model.Vpc, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindVpc, model.PrefixVpc, id, func(v model.Vpc) string { return v.Owner })
}

// Vpcs lists the account's VPCs.
func (c *Network) Vpcs(ctx context.Context, acct string) ([]model.Vpc, error) {
	all, err := core.List[model.Vpc](ctx, c.Store(), model.KindVpc)
	return core.FilterOwner(all, acct, func(v model.Vpc) string { return v.Owner }), err
}

// DeleteVpc deletes an empty VPC (only its default security group may remain).
func (c *Network) DeleteVpc(ctx context.Context, acct, id string) error {
	v, err := c.Vpc(ctx, acct, id)
	if err != nil {
		return err
	}
	if dep, err := c.vpcDependency(ctx, v); err != nil {
		return err
	} else if dep != "" {
		return model.InUse(model.KindVpc, id, "The vpc '%s' has dependencies and cannot be deleted: %s", id, dep)
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		cur, err := core.TxGet[model.Vpc](tx, model.KindVpc, id)
		if err != nil {
			return err
		}
		if err := TxReleaseTransit(tx, cur.TransitIP, id); err != nil {
			return err
		}
		tx.Delete(core.Key(model.KindVpc, id))
		tx.Delete(core.Key(model.KindSecurityGroup, v.DefaultSecurityGroupID))
		tx.Delete(sgNameKey(id, "default"))
		deleteDerivedTags(tx, v)
		return nil
	})
}

// vpcDependency names the first resource that keeps a VPC from being deleted.
func (c *Network) vpcDependency(ctx context.Context, v model.Vpc) (string, error) {
	subnets, err := core.List[model.Subnet](ctx, c.Store(), model.KindSubnet)
	if err != nil {
		return "", err
	}
	for _, s := range subnets {
		if s.VpcID == v.ID {
			return "subnet " + s.ID, nil
		}
	}
	sgs, err := core.List[model.SecurityGroup](ctx, c.Store(), model.KindSecurityGroup)
	if err != nil {
		return "", err
	}
	for _, g := range sgs {
		if g.VpcID == v.ID && g.ID != v.DefaultSecurityGroupID {
			return "security group " + g.ID, nil
		}
	}
	tgs, err := core.List[model.TargetGroup](ctx, c.Store(), model.KindTargetGroup)
	if err != nil {
		return "", err
	}
	for _, t := range tgs {
		if t.VpcID == v.ID {
			return "target group " + t.Name, nil
		}
	}
	return "", nil
}

// VpcAttributes are the attributes ModifyVpcAttribute changes; nil leaves one alone.
type VpcAttributes struct {
	EnableDNSSupport   *bool
	EnableDNSHostnames *bool
	// EnableNAUMetrics is recorded and described; Strait publishes no Network
	// Address Usage metrics (there is no CloudWatch).
	EnableNAUMetrics *bool
}

// ModifyVpcAttribute changes one attribute of a VPC.
func (c *Network) ModifyVpcAttribute(ctx context.Context, acct, id string, in VpcAttributes) error {
	given := 0
	for _, a := range []*bool{in.EnableDNSSupport, in.EnableDNSHostnames, in.EnableNAUMetrics} {
		if a != nil {
			given++
		}
	}
	if given == 0 {
		return model.Missingf("One of enableDnsSupport, enableDnsHostnames or enableNetworkAddressUsageMetrics must be given")
	}
	if given > 1 {
		return model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "Only one attribute may be modified per request")
	}
	if _, err := c.Vpc(ctx, acct, id); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		v, err := core.TxGet[model.Vpc](tx, model.KindVpc, id)
		if err != nil {
			return err
		}
		if in.EnableDNSSupport != nil {
			v.EnableDNSSupport = *in.EnableDNSSupport
		}
		if in.EnableDNSHostnames != nil {
			if *in.EnableDNSHostnames && !v.EnableDNSSupport {
				return model.Invalid("enableDnsHostnames requires enableDnsSupport on VPC %s", id)
			}
			v.EnableDNSHostnames = *in.EnableDNSHostnames
		}
		if in.EnableNAUMetrics != nil {
			v.EnableNAUMetrics = *in.EnableNAUMetrics
		}
		return tx.Put(core.Key(model.KindVpc, id), v)
	})
}

func sgNameKey(vpcID, name string) string { return "sgname/" + vpcID + "/" + name }
