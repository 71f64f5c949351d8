package network

import (
	"context"
	"errors"
	"net/netip"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Every account has a default VPC, as in AWS
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): 172.31.0.0/16,
// a default /20 subnet in each availability zone, a default security group, DNS
// support and DNS hostnames on. Strait creates it when the account first needs it
// (its first EC2 request, see EnsureDefaultVpc); the account may delete it like any
// VPC, and CreateDefaultVpc makes a new one. It has no internet gateway: Strait's
// VPCs have no internet access, so its main route table has the local route only
// and its default subnets give instances no public address.
const (
	defaultVpcCIDR    = "172.31.0.0/16"
	defaultSubnetBits = 20
)

// defaultVpcKey is the store key of an account's defaultVpcRecord.
func defaultVpcKey(acct string) string { return "defaultvpc/" + acct }

// defaultVpcRecord says that an account's default VPC was created (so a deleted one
// is not created again behind the account's back) and which VPC is the current one.
type defaultVpcRecord struct {
	VpcID string `json:"vpcId"`
}

// EnsureDefaultVpc creates the account's default VPC the first time the account
// needs one; after that (even once the account deleted it) it does nothing.
func (c *Network) EnsureDefaultVpc(ctx context.Context, acct string) error {
	var rec defaultVpcRecord
	err := c.Store().Get(ctx, defaultVpcKey(acct), &rec)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = c.createDefaultVpc(ctx, acct, true)
	return err
}

// CreateDefaultVpc creates a default VPC for an account that has none (it deleted
// it), with a default subnet in every zone; DefaultVpcAlreadyExists otherwise.
func (c *Network) CreateDefaultVpc(ctx context.Context, acct string) (model.Vpc, error) {
	return c.createDefaultVpc(ctx, acct, false)
}

// createDefaultVpc writes a default VPC and its subnets. With firstOnly it does so
// only for an account that never had one, and returns the zero Vpc otherwise.
func (c *Network) createDefaultVpc(ctx context.Context, acct string, firstOnly bool) (model.Vpc, error) {
	base := netip.MustParsePrefix(defaultVpcCIDR)
	v, sg := c.newVpc(acct, base.String(), "default", nil)
	v.IsDefault, v.EnableDNSHostnames = true, true
	var subnets []model.Subnet
	for i, z := range c.Zones() {
		p, ok := nthSubnet(base, defaultSubnetBits, i)
		if !ok {
			break
		}
		sn := c.newSubnet(acct, v.ID, p, z, nil)
		sn.DefaultForAZ = true
		subnets = append(subnets, sn)
	}
	err := c.Update(ctx, func(tx *store.Tx) error {
		var rec defaultVpcRecord
		had, err := tx.Get(defaultVpcKey(acct), &rec)
		if err != nil {
			return err
		}
		if had && firstOnly {
			v = model.Vpc{}
			return nil
		}
		if had && rec.VpcID != "" && tx.Exists(core.Key(model.KindVpc, rec.VpcID)) {
			return model.WithReason(model.ErrDuplicate, model.ReasonDefaultVpcExists, "A Default VPC already exists for this account in this region.")
		}
		if err := txPutVpc(tx, &v, sg); err != nil {
			return err
		}
		for _, sn := range subnets {
			if err := tx.Put(core.Key(model.KindSubnet, sn.ID), sn); err != nil {
				return err
			}
		}
		return tx.Put(defaultVpcKey(acct), defaultVpcRecord{VpcID: v.ID})
	})
	return v, err
}

// DefaultVpc returns the account's default VPC; ok is false when it has none.
func (c *Network) DefaultVpc(ctx context.Context, acct string) (v model.Vpc, ok bool, err error) {
	var rec defaultVpcRecord
	if err := c.Store().Get(ctx, defaultVpcKey(acct), &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return v, false, nil
		}
		return v, false, err
	}
	if rec.VpcID == "" {
		return v, false, nil
	}
	v, err = core.Get[model.Vpc](ctx, c.Store(), model.KindVpc, rec.VpcID)
	if errors.Is(err, model.ErrNotFound) {
		return v, false, nil
	}
	return v, err == nil, err
}

// defaultVpcOrNone is the account's default VPC, or VPCIdNotSpecified (what AWS
// answers an account without one) naming what needed it.
func (c *Network) defaultVpcOrNone(ctx context.Context, acct, why string) (model.Vpc, error) {
	v, ok, err := c.DefaultVpc(ctx, acct)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, model.WithReason(model.ErrMissing, model.ReasonNoVpc, "No default VPC for this user. %s", why)
	}
	return v, nil
}

// DefaultSubnet returns the default subnet of the account's default VPC in zone az
// (a name or zone ID), or in the first zone that has one when az is empty.
func (c *Network) DefaultSubnet(ctx context.Context, acct, az string) (model.Subnet, error) {
	v, err := c.defaultVpcOrNone(ctx, acct, "Give the subnet to launch in (SubnetId).")
	if err != nil {
		return model.Subnet{}, err
	}
	subnets, err := c.SubnetsOfVpc(ctx, v.ID)
	if err != nil {
		return model.Subnet{}, err
	}
	for _, z := range c.Zones() {
		if az != "" && az != z.Name && az != z.ZoneID {
			continue
		}
		for _, sn := range subnets {
			if sn.DefaultForAZ && sn.AZ == z.Name {
				return sn, nil
			}
		}
	}
	return model.Subnet{}, model.WithReason(model.ErrMissing, model.ReasonNoDefaultSubnet, "No default subnet for availability zone '%s': give the subnet to launch in (SubnetId), or create one with CreateDefaultSubnet.", az)
}

// CreateDefaultSubnet creates a default subnet (a free /20 of the default VPC) in a
// zone of the account's default VPC that has none.
func (c *Network) CreateDefaultSubnet(ctx context.Context, acct, az string) (model.Subnet, error) {
	v, ok, err := c.DefaultVpc(ctx, acct)
	if err != nil {
		return model.Subnet{}, err
	}
	if !ok {
		return model.Subnet{}, model.WithReason(model.ErrMissing, model.ReasonNoDefaultVpc, "No default VPC exists for this account in this region.")
	}
	if az == "" {
		return model.Subnet{}, model.Missing("AvailabilityZone")
	}
	z, known := c.Zone(az)
	if !known {
		return model.Subnet{}, model.Invalid("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", az, c.zoneList())
	}
	var sn model.Subnet
	err = c.Update(ctx, func(tx *store.Tx) error {
		if !tx.Exists(core.Key(model.KindVpc, v.ID)) {
			return model.WithReason(model.ErrMissing, model.ReasonNoDefaultVpc, "No default VPC exists for this account in this region.")
		}
		siblings, err := c.SubnetsOfVpc(ctx, v.ID)
		if err != nil {
			return err
		}
		for _, s := range siblings {
			if s.DefaultForAZ && s.AZ == z.Name {
				return model.WithReason(model.ErrDuplicate, model.ReasonDefaultSubnetExists, "A Default Subnet already exists in availability zone %s: %s.", z.Name, s.ID)
			}
		}
		base := netip.MustParsePrefix(v.CIDR)
		for i := 0; ; i++ {
			p, ok := nthSubnet(base, defaultSubnetBits, i)
			if !ok {
				return model.WithReason(model.ErrLimit, model.ReasonSubnetFull, "The default VPC %s has no free /%d left for a default subnet.", v.ID, defaultSubnetBits)
			}
			free := true
			for _, s := range siblings {
				if overlaps(p, netip.MustParsePrefix(s.CIDR)) {
					free = false
					break
				}
			}
			if free {
				sn = c.newSubnet(acct, v.ID, p, z, nil)
				sn.DefaultForAZ = true
				return tx.Put(core.Key(model.KindSubnet, sn.ID), sn)
			}
		}
	})
	return sn, err
}

// nthSubnet is the i-th block of the given prefix length inside base; ok is false
// past the end of base.
func nthSubnet(base netip.Prefix, bits, i int) (netip.Prefix, bool) {
	if bits < base.Bits() || i >= 1<<(bits-base.Bits()) {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr(u32(base.Addr())+uint32(i)<<(32-bits)), bits), true
}
