package elb

import (
	"context"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// SetSubnets makes a load balancer's nodes those of the given subnets (Subnets or
// SubnetMappings, one per zone, in its VPC), as the NLB user guide describes
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html):
// a subnet in a new zone gets a node (a new interface with an address of that
// subnet), a subnet left out loses its node and its address — not while an
// endpoint service publishes the load balancer — and an enabled zone keeps its
// subnet and address: changing a zone's subnet is a removal, then an addition.
func (c *ELB) SetSubnets(ctx context.Context, acct, arn string, subnets []string, mappings []SubnetMapping) (model.LoadBalancer, error) {
	lb, err := c.LoadBalancer(ctx, acct, arn)
	if err != nil {
		return lb, err
	}
	p := lbPlan{in: CreateLoadBalancerInput{Scheme: lb.Scheme, Subnets: subnets, SubnetMappings: mappings}}
	if err := c.planSubnets(ctx, acct, &p); err != nil {
		return lb, err
	}
	if p.vpcID != lb.VpcID {
		return lb, model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "The subnets must be in the load balancer's VPC '%s', not '%s'", lb.VpcID, p.vpcID)
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		var err error
		if lb, err = txGetELB[model.LoadBalancer](c, tx, acct, arn, model.KindLoadBalancer); err != nil {
			return err
		}
		keep, add, err := diffNodes(lb, p)
		if err != nil {
			return err
		}
		if len(keep) < len(lb.Nodes) && tx.Exists(LBServiceKey(model.ARNResourceID(arn))) {
			return model.WithReason(model.ErrConflict, model.ReasonConfiguration, "Load balancer '%s' has an endpoint service: its subnets can be added to, not removed", arn)
		}
		for _, n := range lb.Nodes {
			if !slices.ContainsFunc(keep, func(k model.LBNode) bool { return k.ENIID == n.ENIID }) {
				if err := txDeleteNode(tx, n); err != nil {
					return err
				}
			}
		}
		nodes := keep
		for _, m := range add {
			eni, err := c.net.CreateENI(tx, network.ENISpec{
				SubnetID: m.SubnetID, Owner: acct, InterfaceType: model.ENITypeNLB,
				Description: "ELB net/" + lb.Name + "/" + model.ARNResourceID(arn), RequesterID: model.ENIRequesterELB,
				RequesterManaged: true, AttachedTo: arn, Groups: lb.SecurityGroups, PrivateIP: m.PrivateIPv4,
			})
			if err != nil {
				return err
			}
			node, err := txNewNode(tx, eni)
			if err != nil {
				return err
			}
			nodes = append(nodes, node)
		}
		lb.Nodes = nodes
		return tx.Put(core.Key(model.KindLoadBalancer, model.ARNResourceID(arn)), lb)
	})
	return lb, err
}

// diffNodes splits a SetSubnets plan into the nodes kept and the subnets to add.
func diffNodes(lb model.LoadBalancer, p lbPlan) (keep []model.LBNode, add []SubnetMapping, err error) {
	for i, m := range p.mappings {
		sn := p.subnets[i]
		j := slices.IndexFunc(lb.Nodes, func(n model.LBNode) bool { return n.AZ == sn.AZ })
		switch {
		case j < 0:
			add = append(add, m)
		case lb.Nodes[j].SubnetID != sn.ID:
			return nil, nil, model.WithReason(model.ErrInvalid, model.ReasonConfiguration,
				"Zone %s already has subnet '%s': remove it with one SetSubnets, then add '%s' with another", sn.AZ, lb.Nodes[j].SubnetID, sn.ID)
		case m.PrivateIPv4 != "" && m.PrivateIPv4 != lb.Nodes[j].PrivateIP:
			return nil, nil, model.WithReason(model.ErrInvalid, model.ReasonConfiguration,
				"Subnet '%s' keeps its existing configuration: its node's address is %s, not %s", sn.ID, lb.Nodes[j].PrivateIP, m.PrivateIPv4)
		default:
			keep = append(keep, lb.Nodes[j])
		}
	}
	return keep, add, nil
}

// SetSecurityGroups replaces a load balancer's security groups (and, when given,
// whether they filter PrivateLink traffic, "on" or "off"); the data plane applies
// the new rules to its nodes. As in AWS, a load balancer created without security
// groups cannot get any, and one created with them keeps at least one
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetSecurityGroups.html).
func (c *ELB) SetSecurityGroups(ctx context.Context, acct, arn string, groups []string, enforce string) (model.LoadBalancer, error) {
	lb, err := c.LoadBalancer(ctx, acct, arn)
	if err != nil {
		return lb, err
	}
	if len(lb.SecurityGroups) == 0 {
		return lb, model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "Load balancer '%s' was created without security groups, so none can be associated with it", arn)
	}
	if len(groups) == 0 {
		return lb, model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "Load balancer '%s' was created with security groups and must keep at least one", arn)
	}
	if enforce != "" && enforce != "on" && enforce != "off" {
		return lb, model.Invalid("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic must be 'on' or 'off', not '%s'", enforce)
	}
	planned, err := c.planLBGroups(ctx, acct, lb.VpcID, groups)
	if err != nil {
		return lb, err
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		var err error
		if lb, err = txGetELB[model.LoadBalancer](c, tx, acct, arn, model.KindLoadBalancer); err != nil {
			return err
		}
		if err := network.TxHaveGroups(tx, planned); err != nil {
			return err
		}
		lb.SecurityGroups = planned
		if enforce != "" {
			lb.EnforceSGInboundOnPrivateLink = enforce
		}
		for _, n := range lb.Nodes {
			eni, err := core.TxGet[model.NetworkInterface](tx, model.KindENI, n.ENIID)
			if err != nil {
				return err
			}
			eni.Groups = planned
			if err := tx.Put(core.Key(model.KindENI, eni.ID), eni); err != nil {
				return err
			}
		}
		return tx.Put(core.Key(model.KindLoadBalancer, model.ARNResourceID(arn)), lb)
	})
	return lb, err
}

// SetIPAddressType sets a load balancer's IP address type. Strait's load balancers
// are IPv4 only (and internal ones must be, as in AWS), so "ipv4" is the only
// type; "dualstack" is refused.
func (c *ELB) SetIPAddressType(ctx context.Context, acct, arn, ipType string) (string, error) {
	lb, err := c.LoadBalancer(ctx, acct, arn)
	if err != nil {
		return "", err
	}
	switch ipType {
	case "ipv4":
		return lb.IPAddressType, nil
	case "dualstack", "dualstack-without-public-ipv4":
		if lb.Scheme == LBSchemeInternal {
			return "", model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "Internal load balancers must use ipv4, not '%s'", ipType)
		}
		return "", model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "IP address type '%s' is not supported: Strait load balancers are IPv4 only", ipType)
	}
	return "", model.Invalid("IP address type '%s' is not valid: use 'ipv4' or 'dualstack'", ipType)
}

// ELBLimit is one Elastic Load Balancing quota that Strait applies.
type ELBLimit struct {
	Name string
	Max  int
}

// ELBLimits are the quotas Strait's network load balancers enforce, under AWS's
// names (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Limit.html).
func ELBLimits() []ELBLimit {
	return []ELBLimit{
		{Name: "listeners-per-network-load-balancer", Max: MaxListeners},
		{Name: "target-groups-per-action-on-network-load-balancer", Max: 1},
	}
}
