package network

import (
	"context"
	"fmt"
	"maps"
	"regexp"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// DefaultInstanceType is the type of an instance launched without one.
const DefaultInstanceType = "t3.micro"

// maxInstances is how many instances that are not terminated an account may
// have: each is a network namespace on the host.
const maxInstances = 256

// maxGroupsPerInterface is EC2's default limit of security groups per interface.
const maxGroupsPerInterface = 5

// RunInstancesInput is what RunInstances needs.
type RunInstancesInput struct {
	SubnetID string
	// PrivateIP, when set, is the address of the (single) instance.
	PrivateIP string
	// SecurityGroupIDs default to the VPC's default group.
	SecurityGroupIDs []string
	ImageID          string
	InstanceType     string // DefaultInstanceType when empty
	KeyName          string
	// AZ, when set (Placement.AvailabilityZone), must be the subnet's zone.
	AZ string
	// MinCount and MaxCount bound how many instances are launched: MaxCount when
	// the subnet has the addresses, at least MinCount or none.
	MinCount, MaxCount int32
	Tags               model.Tags // of each instance
	ENITags            model.Tags // of each instance's network interface
	ENIDescription     string     // of each instance's network interface
	ClientToken        string
}

var amiID = regexp.MustCompile(`^ami-[0-9a-zA-Z]+$`)

// RunInstances launches instances in a subnet, as one reservation. They start
// pending, each with its own network interface, and become running once the data
// plane has wired them (see Settle). A repeat with the same client token and
// parameters returns the first call's instances.
func (c *Network) RunInstances(ctx context.Context, acct string, in RunInstancesInput) ([]model.Instance, error) {
	if in.InstanceType == "" {
		in.InstanceType = DefaultInstanceType
	}
	in.SecurityGroupIDs = core.Dedupe(in.SecurityGroupIDs)
	tok, prev, err := c.reservationToken(ctx, acct, in)
	if err != nil || len(prev) > 0 {
		return prev, err
	}
	sn, groups, err := c.checkRunInstances(ctx, acct, in)
	if err != nil {
		return nil, err
	}
	var out []model.Instance
	err = c.Update(ctx, func(tx *store.Tx) error {
		out = nil
		if found, err := txReservation(tx, tok, &out); err != nil || found {
			return err
		}
		cur, err := core.TxGet[model.Subnet](tx, model.KindSubnet, sn.ID)
		if err != nil {
			return err
		}
		if err := TxHaveGroups(tx, groups); err != nil {
			return err
		}
		n, err := c.launchCount(ctx, acct, cur, in)
		if err != nil {
			return err
		}
		rid := model.NewID(model.PrefixReservation)
		for i := range n {
			ip := ""
			if i == 0 {
				ip = in.PrivateIP
			}
			inst, err := c.launchInstance(tx, acct, cur, groups, ip, in)
			if err != nil {
				return err
			}
			inst.ReservationID, inst.AMILaunchIndex = rid, int32(i)
			if err := tx.Put(core.Key(model.KindInstance, inst.ID), inst); err != nil {
				return err
			}
			out = append(out, inst)
		}
		return recordReservation(tx, tok, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkRunInstances checks a launch request and returns its subnet and security
// groups (the VPC's default group when none are given).
func (c *Network) checkRunInstances(ctx context.Context, acct string, in RunInstancesInput) (model.Subnet, []string, error) {
	switch {
	case in.ImageID == "":
		return model.Subnet{}, nil, model.Missing("ImageId")
	case !amiID.MatchString(in.ImageID):
		return model.Subnet{}, nil, model.WithReason(model.ErrInvalid, model.ReasonMalformedImageID, "Invalid id: \"%s\" (expecting \"ami-...\")", in.ImageID)
	case in.MinCount < 1:
		return model.Subnet{}, nil, model.Invalid("Value (%d) for parameter minCount is invalid. Expected a positive integer.", in.MinCount)
	case in.MaxCount < in.MinCount:
		return model.Subnet{}, nil, model.Invalid("Value (%d) for parameter maxCount is invalid. It must be at least minCount (%d).", in.MaxCount, in.MinCount)
	case in.PrivateIP != "" && in.MaxCount > 1:
		return model.Subnet{}, nil, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "A private IP address can only be given when launching a single instance (MaxCount 1), not %d", in.MaxCount)
	}
	// Without a subnet, an instance goes to a default subnet of the default VPC.
	var sn model.Subnet
	var err error
	if in.SubnetID == "" {
		sn, err = c.DefaultSubnet(ctx, acct, in.AZ)
	} else {
		sn, err = c.Subnet(ctx, acct, in.SubnetID)
	}
	if err != nil {
		return sn, nil, err
	}
	if in.AZ != "" && in.AZ != sn.AZ {
		return sn, nil, model.Invalid("Value (%s) for parameter availabilityZone is invalid. Subnet '%s' is in availability zone %s.", in.AZ, sn.ID, sn.AZ)
	}
	groups := in.SecurityGroupIDs
	if len(groups) == 0 {
		v, err := c.Vpc(ctx, acct, sn.VpcID)
		if err != nil {
			return sn, nil, err
		}
		groups = []string{v.DefaultSecurityGroupID}
	}
	if len(groups) > maxGroupsPerInterface {
		return sn, nil, model.WithReason(model.ErrLimit, model.ReasonGroupsPerInterface, "You have exceeded the maximum number of security groups allowed per network interface (%d).", maxGroupsPerInterface)
	}
	for _, id := range groups {
		g, err := c.SecurityGroup(ctx, acct, id)
		if err != nil {
			return sn, nil, err
		}
		if g.VpcID != sn.VpcID {
			return sn, nil, &model.Error{Err: model.ErrInvalid, Kind: model.KindSecurityGroup, ID: id, Reason: model.ReasonParameter,
				Msg: fmt.Sprintf("Security group %s and subnet %s belong to different networks.", id, sn.ID)}
		}
	}
	return sn, groups, nil
}

// launchCount is how many instances to launch: MaxCount when the subnet's free
// addresses and the account's instance limit allow it, else as many as they do,
// which must be at least MinCount. It runs under c.update's lock.
func (c *Network) launchCount(ctx context.Context, acct string, sn model.Subnet, in RunInstancesInput) (int, error) {
	all, err := core.List[model.Instance](ctx, c.Store(), model.KindInstance)
	if err != nil {
		return 0, err
	}
	room := maxInstances
	for _, i := range all {
		if i.Owner == acct && i.State != model.InstanceTerminated {
			room--
		}
	}
	if room < int(in.MinCount) {
		return 0, model.WithReason(model.ErrLimit, model.ReasonInstanceLimit, "You have requested more instances (%d) than your current instance limit of %d allows (%d more can be launched).", in.MinCount, maxInstances, max(room, 0))
	}
	free := AvailableIPs(sn)
	if in.PrivateIP != "" {
		free = 1 // the address is checked when it is taken
	}
	if free < int(in.MinCount) {
		return 0, model.WithReason(model.ErrLimit, model.ReasonSubnetFull, "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances (%d free, %d requested).", sn.ID, free, in.MinCount)
	}
	return min(int(in.MaxCount), free, room), nil
}

// launchInstance creates one pending instance and its interface, inside tx.
func (c *Network) launchInstance(tx *store.Tx, acct string, sn model.Subnet, groups []string, ip string, in RunInstancesInput) (model.Instance, error) {
	id := model.NewID(model.PrefixInstance)
	eni, err := c.CreateENI(tx, ENISpec{
		SubnetID: sn.ID, Owner: acct, InterfaceType: model.ENITypeInterface, AttachedTo: id,
		Groups: groups, PrivateIP: ip, Description: in.ENIDescription,
	})
	if err != nil {
		return model.Instance{}, err
	}
	if len(in.ENITags) > 0 {
		eni.Tags = maps.Clone(in.ENITags)
		if err := tx.Put(core.Key(model.KindENI, eni.ID), eni); err != nil {
			return model.Instance{}, err
		}
	}
	return model.Instance{
		ID: id, Owner: acct, VpcID: sn.VpcID, SubnetID: sn.ID, AZ: sn.AZ,
		PrivateIP: eni.PrivateIP, ENIID: eni.ID, SecurityGroups: groups,
		ImageID: in.ImageID, InstanceType: in.InstanceType, KeyName: in.KeyName,
		State: model.InstancePending, StateReasonCode: model.InstancePending, StateReasonMessage: model.InstancePending,
		LaunchTime: eni.Created, PrivateDNSName: model.PrivateDNSName(c.Region(), eni.PrivateIP),
		ClientToken: in.ClientToken, Tags: maps.Clone(in.Tags),
	}, nil
}
