package network

import (
	"context"
	"errors"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateNetworkInterfaceInput is what CreateNetworkInterface needs.
type CreateNetworkInterfaceInput struct {
	SubnetID    string
	Description string
	Groups      []string // the VPC's default group when empty
	PrivateIP   string   // the lowest free address when empty
	Tags        model.Tags
}

// CreateNetworkInterface creates an interface of the account in one of its subnets
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkInterface.html):
// it holds one private address of the subnet, and its status is "available" —
// attached to nothing, it carries no traffic (Strait does not attach interfaces
// to instances after launch).
func (c *Network) CreateNetworkInterface(ctx context.Context, acct string, in CreateNetworkInterfaceInput) (model.NetworkInterface, error) {
	sn, err := c.Subnet(ctx, acct, in.SubnetID)
	if err != nil {
		return model.NetworkInterface{}, err
	}
	if err := checkENIDescription(in.Description); err != nil {
		return model.NetworkInterface{}, err
	}
	groups := core.Dedupe(in.Groups)
	if len(groups) == 0 {
		v, err := c.Vpc(ctx, acct, sn.VpcID)
		if err != nil {
			return model.NetworkInterface{}, err
		}
		groups = []string{v.DefaultSecurityGroupID}
	}
	if len(groups) > maxGroupsPerInterface {
		return model.NetworkInterface{}, model.WithReason(model.ErrLimit, model.ReasonGroupsPerInterface, "You have exceeded the maximum number of security groups allowed per network interface (%d).", maxGroupsPerInterface)
	}
	if err := c.CheckSecurityGroups(ctx, acct, sn.VpcID, groups); err != nil {
		return model.NetworkInterface{}, err
	}
	var eni model.NetworkInterface
	err = c.Update(ctx, func(tx *store.Tx) error {
		if err := TxHaveGroups(tx, groups); err != nil {
			return err
		}
		var err error
		eni, err = c.CreateENI(tx, ENISpec{SubnetID: sn.ID, Owner: acct, InterfaceType: model.ENITypeInterface,
			Description: in.Description, RequesterID: "", Groups: groups, PrivateIP: in.PrivateIP})
		if err != nil {
			return err
		}
		eni.Status, eni.AttachmentID, eni.Tags = model.ENIStatusAvailable, "", in.Tags
		return tx.Put(core.Key(model.KindENI, eni.ID), eni)
	})
	return eni, err
}

// NetworkInterface returns one of the account's interfaces.
func (c *Network) NetworkInterface(ctx context.Context, acct, id string) (model.NetworkInterface, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindENI, model.PrefixENI, id, func(e model.NetworkInterface) string { return e.Owner })
}

// DeleteNetworkInterface deletes one of the account's interfaces that nothing
// uses; an attached one (an instance's, an endpoint's or a load balancer node's)
// is InvalidNetworkInterface.InUse.
func (c *Network) DeleteNetworkInterface(ctx context.Context, acct, id string) error {
	if _, err := c.NetworkInterface(ctx, acct, id); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, id)
		if err != nil {
			return err
		}
		if eni.AttachedTo != "" || eni.Status == model.ENIStatusInUse {
			return model.WithReason(model.ErrInUse, model.ReasonInterfaceInUse, "Interface: [%s] in use.", id)
		}
		return DeleteENI(tx, id)
	})
}

// ModifyNetworkInterfaceInput changes one attribute of an interface; nil or empty
// fields are left alone.
type ModifyNetworkInterfaceInput struct {
	Description *string
	Groups      []string
}

// ModifyNetworkInterfaceAttribute changes the description or the security groups
// of one of the account's interfaces. The groups of an instance's interface are the
// instance's groups: the data plane applies them to its traffic. Requester-managed
// interfaces (endpoints', load balancers') are changed through their owner
// (ModifyVpcEndpoint, SetSecurityGroups), not here.
func (c *Network) ModifyNetworkInterfaceAttribute(ctx context.Context, acct, id string, in ModifyNetworkInterfaceInput) error {
	eni, err := c.NetworkInterface(ctx, acct, id)
	if err != nil {
		return err
	}
	if eni.RequesterManaged {
		return model.WithReason(model.ErrUnauthorized, model.ReasonNotPermitted, "The network interface %s is managed by %s: change it through its endpoint or load balancer", id, eni.RequesterID)
	}
	if in.Description != nil {
		if err := checkENIDescription(*in.Description); err != nil {
			return err
		}
	}
	groups := core.Dedupe(in.Groups)
	if in.Groups != nil {
		if len(groups) == 0 {
			return model.Missing("SecurityGroupId")
		}
		if len(groups) > maxGroupsPerInterface {
			return model.WithReason(model.ErrLimit, model.ReasonGroupsPerInterface, "You have exceeded the maximum number of security groups allowed per network interface (%d).", maxGroupsPerInterface)
		}
		if err := c.CheckSecurityGroups(ctx, acct, eni.VpcID, groups); err != nil {
			return err
		}
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, id)
		if err != nil {
			return err
		}
		if in.Description != nil {
			eni.Description = *in.Description
		}
		if in.Groups != nil {
			if err := TxHaveGroups(tx, groups); err != nil {
				return err
			}
			eni.Groups = groups
			if strings.HasPrefix(eni.AttachedTo, model.PrefixInstance+"-") {
				inst, err := core.TxGet[model.Instance](tx, model.KindInstance, eni.AttachedTo)
				if err != nil && !errors.Is(err, model.ErrNotFound) {
					return err
				}
				if err == nil {
					inst.SecurityGroups = groups
					if err := tx.Put(core.Key(model.KindInstance, inst.ID), inst); err != nil {
						return err
					}
				}
			}
		}
		return tx.Put(core.Key(model.KindENI, id), eni)
	})
}

// checkENIDescription checks an interface description: at most 255 characters.
func checkENIDescription(d string) error {
	if len(d) > 255 {
		return model.Invalid("The description of a network interface must be at most 255 characters long")
	}
	return nil
}
