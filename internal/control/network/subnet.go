package network

import (
	"context"
	"errors"
	"net/netip"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateSubnetInput is what CreateSubnet needs; AZ is a zone name or zone ID (the
// least used zone of the VPC when empty).
type CreateSubnetInput struct {
	VpcID string
	CIDR  string
	AZ    string
	Tags  model.Tags
}

// CreateSubnet carves a subnet out of a VPC's range in one availability zone.
func (c *Network) CreateSubnet(ctx context.Context, acct string, in CreateSubnetInput) (model.Subnet, error) {
	v, err := c.Vpc(ctx, acct, in.VpcID)
	if err != nil {
		return model.Subnet{}, err
	}
	p, err := parseCIDR(in.CIDR, 16, 28, model.ReasonSubnetRange)
	if err != nil {
		return model.Subnet{}, err
	}
	if err := checkNotTransit(p, model.ReasonSubnetRange); err != nil {
		return model.Subnet{}, err
	}
	vp := netip.MustParsePrefix(v.CIDR)
	if !vp.Contains(p.Addr()) || p.Bits() < vp.Bits() {
		return model.Subnet{}, model.WithReason(model.ErrInvalid, model.ReasonSubnetRange, "The CIDR '%s' is invalid for VPC %s (%s): a subnet must lie within the VPC's range.", in.CIDR, v.ID, v.CIDR)
	}
	var sn model.Subnet
	err = c.Update(ctx, func(tx *store.Tx) error {
		if !tx.Exists(core.Key(model.KindVpc, v.ID)) {
			return model.NotFound(model.KindVpc, v.ID)
		}
		// The siblings are read under c.update's lock, so that two requests
		// cannot both take the same range.
		siblings, err := c.SubnetsOfVpc(ctx, v.ID)
		if err != nil {
			return err
		}
		for _, s := range siblings {
			if overlaps(p, netip.MustParsePrefix(s.CIDR)) {
				return model.WithReason(model.ErrConflict, model.ReasonSubnetConflict, "The CIDR '%s' conflicts with another subnet (%s, %s)", p, s.ID, s.CIDR)
			}
		}
		z, err := c.pickZone(in.AZ, siblings)
		if err != nil {
			return err
		}
		sn = c.newSubnet(acct, v.ID, p, z, in.Tags)
		return tx.Put(core.Key(model.KindSubnet, sn.ID), sn)
	})
	if err != nil {
		return model.Subnet{}, err
	}
	return sn, nil
}

// newSubnet is a new subnet record.
func (c *Network) newSubnet(acct, vpcID string, p netip.Prefix, z model.AvailabilityZone, tags model.Tags) model.Subnet {
	return model.Subnet{
		ID: model.NewID(model.PrefixSubnet), Owner: acct, VpcID: vpcID, CIDR: p.String(),
		AZ: z.Name, AZID: z.ZoneID, State: "available", ACLAssociationID: model.NewID(model.PrefixACLAssoc),
		Tags: tags, Created: c.Now().UTC(),
	}
}

func (c *Network) pickZone(name string, siblings []model.Subnet) (model.AvailabilityZone, error) {
	if name != "" {
		z, ok := c.Zone(name)
		if !ok {
			return z, model.Invalid("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", name, c.zoneList())
		}
		return z, nil
	}
	best, bestN := c.Zones()[0], -1
	for _, z := range c.Zones() {
		n := 0
		for _, s := range siblings {
			if s.AZ == z.Name {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = z, n
		}
	}
	return best, nil
}

func (c *Network) zoneList() string {
	out := ""
	for i, z := range c.Zones() {
		if i > 0 {
			out += ", "
		}
		out += z.Name
	}
	return out
}

func (c *Network) SubnetsOfVpc(ctx context.Context, vpcID string) ([]model.Subnet, error) {
	all, err := core.List[model.Subnet](ctx, c.Store(), model.KindSubnet)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, s := range all {
		if s.VpcID == vpcID {
			out = append(out, s)
		}
	}
	return out, nil
}

// Subnet returns one of the account's subnets.
func (c *Network) Subnet(ctx context.Context, acct, id string) (model.Subnet, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindSubnet, model.PrefixSubnet, id, func(s model.Subnet) string { return s.Owner })
}

// Subnets lists the account's subnets.
func (c *Network) Subnets(ctx context.Context, acct string) ([]model.Subnet, error) {
	all, err := core.List[model.Subnet](ctx, c.Store(), model.KindSubnet)
	return core.FilterOwner(all, acct, func(s model.Subnet) string { return s.Owner }), err
}

// AvailableIPs is how many addresses of a subnet are still free.
func AvailableIPs(s model.Subnet) int {
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return 0
	}
	return usableCount(p) - usedIPs(s)
}

// DeleteSubnet deletes a subnet that has no network interfaces left.
func (c *Network) DeleteSubnet(ctx context.Context, acct, id string) error {
	if _, err := c.Subnet(ctx, acct, id); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		s, err := core.TxGet[model.Subnet](tx, model.KindSubnet, id)
		if err != nil {
			return err
		}
		if n := usedIPs(s); n > 0 {
			return model.InUse(model.KindSubnet, id, "The subnet '%s' has dependencies and cannot be deleted: %d network interface(s) still use it", id, n)
		}
		tx.Delete(core.Key(model.KindSubnet, id))
		return nil
	})
}

// MoveLegacyAddresses moves the allocated addresses that earlier versions kept in
// subnet records (Subnet.Used) into address records, legacyMovesPerTx addresses
// per transaction, so that no subnet record stays large; a server may run it at
// startup. Subnets are also converted as their addresses change, and every
// reader counts both forms, so running it is not needed for correctness.
func (c *Network) MoveLegacyAddresses(ctx context.Context) error {
	subnets, err := core.List[model.Subnet](ctx, c.Store(), model.KindSubnet)
	if err != nil {
		return err
	}
	for _, s := range subnets {
		for left := len(s.Used); left > 0; {
			err := c.Update(ctx, func(tx *store.Tx) error {
				sn, err := core.TxGet[model.Subnet](tx, model.KindSubnet, s.ID)
				if err != nil {
					left = 0
					if errors.Is(err, model.ErrNotFound) {
						return nil // deleted meanwhile
					}
					return err
				}
				if len(sn.Used) == 0 {
					left = 0 // converted meanwhile
					return nil
				}
				if err := moveLegacyIPs(tx, &sn); err != nil {
					return err
				}
				left = len(sn.Used)
				return tx.Put(core.Key(model.KindSubnet, sn.ID), sn)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
