package endpoints

import (
	"context"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// ModifyEndpointInput changes an endpoint; nil and empty fields are left alone.
type ModifyEndpointInput struct {
	AddSubnetIDs           []string
	RemoveSubnetIDs        []string
	AddSecurityGroupIDs    []string
	RemoveSecurityGroupIDs []string
	PrivateDNSEnabled      *bool
	PolicyDocument         string
	ResetPolicy            bool
	IPAddressType          string
	DNSRecordIPType        string
}

// ModifyEndpoint adds and removes an endpoint's subnets (creating and deleting
// their interfaces) and security groups (on its interfaces too), turns private DNS
// on or off, replaces or resets its policy, and sets its DNS record IP type.
func (c *PrivateLink) ModifyEndpoint(ctx context.Context, acct, id string, in ModifyEndpointInput) error {
	ep, err := c.ownEndpoint(ctx, acct, id)
	if err != nil {
		return err
	}
	if ep.State == model.EndpointDeleting || ep.State == model.EndpointDeleted {
		return model.BadState(model.KindEndpoint, id, "The VPC endpoint %s is being deleted", id)
	}
	if in.ResetPolicy && in.PolicyDocument != "" {
		return model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "PolicyDocument and ResetPolicy cannot be given together")
	}
	if err := checkEndpointIPTypes(in.IPAddressType, in.DNSRecordIPType); err != nil {
		return err
	}
	policy := ""
	if in.PolicyDocument != "" || in.ResetPolicy {
		if policy, err = checkPolicy(in.PolicyDocument); err != nil {
			return err
		}
	}
	vpc, err := c.net.Vpc(ctx, acct, ep.VpcID)
	if err != nil {
		return err
	}
	svc, err := core.Get[model.EndpointService](ctx, c.Store(), model.KindService, ep.ServiceID)
	if err != nil && (len(in.AddSubnetIDs) > 0 || in.PrivateDNSEnabled != nil && *in.PrivateDNSEnabled) {
		return invalidServiceName(ep.ServiceName)
	}
	remove := core.Dedupe(in.RemoveSubnetIDs)
	for _, s := range remove {
		if !slices.Contains(ep.SubnetIDs, s) {
			return invalidParameter("The subnet ID '%s' is not a subnet of the VPC endpoint %s", s, id)
		}
	}
	taken := map[string]string{}
	for i, s := range ep.SubnetIDs {
		if !slices.Contains(remove, s) {
			eni, err := core.Get[model.NetworkInterface](ctx, c.Store(), model.KindENI, ep.ENIs[i])
			if err == nil {
				taken[eni.AZ] = s
			}
		}
	}
	added, err := c.endpointSubnets(ctx, acct, vpc.ID, svc, core.Dedupe(in.AddSubnetIDs), taken)
	if err != nil {
		return err
	}
	if len(taken)+len(added) == 0 {
		return invalidParameter("An interface endpoint needs at least one subnet; the last one cannot be removed")
	}
	addGroups := core.Dedupe(in.AddSecurityGroupIDs)
	if err := c.net.CheckSecurityGroups(ctx, acct, vpc.ID, addGroups); err != nil {
		return err
	}
	if in.PrivateDNSEnabled != nil && *in.PrivateDNSEnabled {
		if _, err := privateDNSWanted(svc, in.PrivateDNSEnabled); err != nil {
			return err
		}
		if err := checkVpcDNS(vpc); err != nil {
			return err
		}
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
		if err != nil {
			return err
		}
		if ep.State == model.EndpointDeleting {
			return model.BadState(model.KindEndpoint, id, "The VPC endpoint %s is being deleted", id)
		}
		// The subnets were checked against the endpoint read before this
		// transaction; a concurrent ModifyVpcEndpoint may have changed them since.
		for _, s := range remove {
			if !slices.Contains(ep.SubnetIDs, s) {
				return invalidParameter("The subnet ID '%s' is not a subnet of the VPC endpoint %s", s, id)
			}
		}
		if err := removeEndpointSubnets(tx, &ep, remove); err != nil {
			return err
		}
		for _, sn := range added {
			if slices.Contains(ep.AZs, sn.AZ) {
				return duplicateSubnetZone(sn.ID)
			}
		}
		if err := c.addEndpointENIs(tx, &ep, added); err != nil {
			return err
		}
		if len(ep.SubnetIDs) == 0 {
			return invalidParameter("An interface endpoint needs at least one subnet; the last one cannot be removed")
		}
		groups := ep.SecurityGroups
		for _, g := range addGroups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		for _, g := range core.Dedupe(in.RemoveSecurityGroupIDs) {
			if !slices.Contains(groups, g) {
				return invalidParameter("The security group '%s' is not associated with the VPC endpoint %s", g, id)
			}
			groups = slices.DeleteFunc(slices.Clone(groups), func(x string) bool { return x == g })
		}
		if len(groups) == 0 {
			return invalidParameter("An interface endpoint needs at least one security group; the last one cannot be removed")
		}
		if err := network.TxHaveGroups(tx, addGroups); err != nil {
			return err
		}
		if !slices.Equal(groups, ep.SecurityGroups) {
			ep.SecurityGroups = groups
			if err := setENIGroups(tx, ep.ENIs, groups); err != nil {
				return err
			}
		}
		if in.PrivateDNSEnabled != nil {
			ep.PrivateDNSEnabled = *in.PrivateDNSEnabled
			if ep.PrivateDNSEnabled {
				cur, err := core.TxGet[model.EndpointService](tx, model.KindService, ep.ServiceID)
				if err != nil {
					return invalidServiceName(ep.ServiceName)
				}
				if err := HoldPrivateDNSName(tx, &ep, ServiceVerifiedName(cur)); err != nil {
					return err
				}
			} else {
				ReleasePrivateDNSName(tx, &ep)
			}
		}
		if policy != "" {
			ep.PolicyDocument = policy
		}
		if in.DNSRecordIPType != "" {
			ep.DNSRecordIPType = in.DNSRecordIPType
		}
		return tx.Put(core.Key(model.KindEndpoint, id), ep)
	})
}

// removeEndpointSubnets deletes, inside tx, the endpoint's interfaces in the given
// subnets.
func removeEndpointSubnets(tx *store.Tx, ep *model.Endpoint, subnets []string) error {
	if len(subnets) == 0 {
		return nil
	}
	var ids, enis []string
	for i, s := range ep.SubnetIDs {
		if slices.Contains(subnets, s) {
			if err := network.DeleteENI(tx, ep.ENIs[i]); err != nil {
				return err
			}
			continue
		}
		ids = append(ids, s)
		enis = append(enis, ep.ENIs[i])
	}
	ep.SubnetIDs, ep.ENIs, ep.AZs = ids, enis, nil
	for _, e := range enis {
		if eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, e); err == nil {
			ep.AZs = append(ep.AZs, eni.AZ)
		}
	}
	slices.Sort(ep.AZs)
	return nil
}

// setENIGroups sets, inside tx, the security groups of interfaces.
func setENIGroups(tx *store.Tx, enis, groups []string) error {
	for _, id := range enis {
		eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, id)
		if err != nil {
			continue
		}
		eni.Groups = slices.Clone(groups)
		if err := tx.Put(core.Key(model.KindENI, id), eni); err != nil {
			return err
		}
	}
	return nil
}
