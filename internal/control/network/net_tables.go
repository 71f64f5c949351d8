package network

import (
	"context"
	"sort"

	"strait/internal/model"
)

// RouteTable is a VPC's main route table. Strait routes only inside a VPC, so a VPC
// has exactly one route table, with the local route and the main association.
type RouteTable struct {
	ID         string
	Owner      string
	VpcID      string
	VpcCIDR    string
	MainAssoID string
	Tags       model.Tags
}

// RouteTables lists the route tables of the account's VPCs.
func (c *Network) RouteTables(ctx context.Context, acct string) ([]RouteTable, error) {
	vpcs, err := c.Vpcs(ctx, acct)
	if err != nil {
		return nil, err
	}
	out := make([]RouteTable, 0, len(vpcs))
	for _, v := range vpcs {
		tags, err := c.DerivedTags(ctx, v.MainRouteTableID)
		if err != nil {
			return nil, err
		}
		out = append(out, RouteTable{ID: v.MainRouteTableID, Owner: v.Owner, VpcID: v.ID, VpcCIDR: v.CIDR, MainAssoID: v.MainRouteAssocID, Tags: tags})
	}
	return out, nil
}

// ACLAssociation ties a subnet to its network ACL.
type ACLAssociation struct {
	ID       string
	SubnetID string
}

// NetworkACL is a VPC's default network ACL, which allows all traffic and is
// associated with every subnet of the VPC.
type NetworkACL struct {
	ID           string
	Owner        string
	VpcID        string
	Associations []ACLAssociation
	Tags         model.Tags
}

// NetworkACLs lists the network ACLs of the account's VPCs.
func (c *Network) NetworkACLs(ctx context.Context, acct string) ([]NetworkACL, error) {
	vpcs, err := c.Vpcs(ctx, acct)
	if err != nil {
		return nil, err
	}
	subnets, err := c.Subnets(ctx, acct)
	if err != nil {
		return nil, err
	}
	// Associations are listed in the order their subnets were created.
	sort.SliceStable(subnets, func(i, j int) bool { return subnets[i].Created.Before(subnets[j].Created) })
	out := make([]NetworkACL, 0, len(vpcs))
	for _, v := range vpcs {
		tags, err := c.DerivedTags(ctx, v.DefaultNetworkACLID)
		if err != nil {
			return nil, err
		}
		acl := NetworkACL{ID: v.DefaultNetworkACLID, Owner: v.Owner, VpcID: v.ID, Associations: []ACLAssociation{}, Tags: tags}
		for _, s := range subnets {
			if s.VpcID == v.ID {
				acl.Associations = append(acl.Associations, ACLAssociation{ID: s.ACLAssociationID, SubnetID: s.ID})
			}
		}
		out = append(out, acl)
	}
	return out, nil
}
