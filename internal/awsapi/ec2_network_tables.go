package awsapi

import (
	"context"
	"strconv"

	"strait/internal/control/network"
	"strait/internal/model"
)

// RouteTable is the EC2 RouteTable shape.
type RouteTable struct {
	RouteTableId    string
	VpcId           string
	OwnerId         string
	Routes          []Route
	Associations    []RouteTableAssociation
	PropagatingVgws []PropagatingVgw
	Tags            []Tag
}

// Route is one route of a route table.
type Route struct {
	DestinationCidrBlock string
	GatewayId            string
	Origin               string
	State                string
}

// RouteTableAssociation ties a route table to a subnet, or marks it main.
type RouteTableAssociation struct {
	Main                    bool
	RouteTableAssociationId string
	RouteTableId            string
	SubnetId                string
	AssociationState        *RouteTableAssociationState
}

// RouteTableAssociationState is the state of an association.
type RouteTableAssociationState struct {
	State string
}

// PropagatingVgw is a virtual private gateway propagating routes (Strait has none).
type PropagatingVgw struct {
	GatewayId string
}

func toRouteTable(rt network.RouteTable) RouteTable {
	return RouteTable{
		RouteTableId: rt.ID, VpcId: rt.VpcID, OwnerId: rt.Owner,
		Routes: []Route{{DestinationCidrBlock: rt.VpcCIDR, GatewayId: "local", Origin: "CreateRouteTable", State: "active"}},
		Associations: []RouteTableAssociation{{Main: true, RouteTableAssociationId: rt.MainAssoID, RouteTableId: rt.ID,
			AssociationState: &RouteTableAssociationState{State: "associated"}}},
		PropagatingVgws: []PropagatingVgw{}, Tags: ec2Tags(rt.Tags),
	}
}

type describeRouteTablesRequest struct {
	RouteTableIds []string
	Filters       []Filter
	MaxResults    int32
	NextToken     string
	DryRun        bool
}

type describeRouteTablesResponse struct {
	RouteTables []RouteTable
	NextToken   string
}

var routeTableFilters = filterFuncs[network.RouteTable]{
	"route-table-id":                         func(rt network.RouteTable) []string { return []string{rt.ID} },
	"vpc-id":                                 func(rt network.RouteTable) []string { return []string{rt.VpcID} },
	"owner-id":                               func(rt network.RouteTable) []string { return []string{rt.Owner} },
	"association.main":                       func(rt network.RouteTable) []string { return []string{"true"} },
	"association.route-table-association-id": func(rt network.RouteTable) []string { return []string{rt.MainAssoID} },
	"association.route-table-id":             func(rt network.RouteTable) []string { return []string{rt.ID} },
	"association.association-state":          func(rt network.RouteTable) []string { return []string{"associated"} },
	// Subnets use the main route table implicitly: there are no explicit associations.
	"association.subnet-id":            func(rt network.RouteTable) []string { return nil },
	"association.gateway-id":           func(rt network.RouteTable) []string { return nil },
	"route.destination-cidr-block":     func(rt network.RouteTable) []string { return []string{rt.VpcCIDR} },
	"route.gateway-id":                 func(rt network.RouteTable) []string { return []string{"local"} },
	"route.origin":                     func(rt network.RouteTable) []string { return []string{"CreateRouteTable"} },
	"route.state":                      func(rt network.RouteTable) []string { return []string{"active"} },
	"route.destination-prefix-list-id": func(rt network.RouteTable) []string { return nil },
}

func (a *API) describeRouteTables(ctx context.Context, c *caller, req *describeRouteTablesRequest) (*describeRouteTablesResponse, error) {
	all, err := a.ctl.RouteTables(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(model.KindRouteTable, model.PrefixRouteTable, req.RouteTableIds); err != nil {
		return nil, err
	}
	tables, next, err := describe(all, query[network.RouteTable]{
		IDs: req.RouteTableIds, Kind: model.KindRouteTable, NotFoundMsg: "The routeTable ID '%s' does not exist",
		IDOf:    func(rt network.RouteTable) string { return rt.ID },
		Filters: req.Filters, Funcs: routeTableFilters, TagsOf: func(rt network.RouteTable) model.Tags { return rt.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken, MaxLimit: 100,
	}, toRouteTable)
	if err != nil {
		return nil, err
	}
	return &describeRouteTablesResponse{RouteTables: tables, NextToken: next}, nil
}

// NetworkAcl is the EC2 NetworkAcl shape.
type NetworkAcl struct {
	NetworkAclId string
	VpcId        string
	IsDefault    bool
	Entries      []NetworkAclEntry
	Associations []NetworkAclAssociation
	Tags         []Tag
	OwnerId      string
}

// NetworkAclEntry is one numbered rule of a network ACL.
type NetworkAclEntry struct {
	RuleNumber int32
	Protocol   string
	RuleAction string
	Egress     bool
	CidrBlock  string
}

// NetworkAclAssociation ties a network ACL to a subnet.
type NetworkAclAssociation struct {
	NetworkAclAssociationId string
	NetworkAclId            string
	SubnetId                string
}

// defaultACLEntries are the rules of a default network ACL, in the order EC2 lists
// them: allow everything (100), then the catch-all deny (32767), outbound first.
var defaultACLEntries = []NetworkAclEntry{
	{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", Egress: true, CidrBlock: "0.0.0.0/0"},
	{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: true, CidrBlock: "0.0.0.0/0"},
	{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", Egress: false, CidrBlock: "0.0.0.0/0"},
	{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: false, CidrBlock: "0.0.0.0/0"},
}

func toNetworkAcl(acl network.NetworkACL) NetworkAcl {
	out := NetworkAcl{
		NetworkAclId: acl.ID, VpcId: acl.VpcID, IsDefault: true, OwnerId: acl.Owner, Tags: ec2Tags(acl.Tags),
		Entries: append([]NetworkAclEntry{}, defaultACLEntries...), Associations: []NetworkAclAssociation{},
	}
	for _, as := range acl.Associations {
		out.Associations = append(out.Associations, NetworkAclAssociation{NetworkAclAssociationId: as.ID, NetworkAclId: acl.ID, SubnetId: as.SubnetID})
	}
	return out
}

type describeNetworkAclsRequest struct {
	NetworkAclIds []string
	Filters       []Filter
	MaxResults    int32
	NextToken     string
	DryRun        bool
}

type describeNetworkAclsResponse struct {
	NetworkAcls []NetworkAcl
	NextToken   string
}

// aclEntryValues collects a field of the default ACL's entries.
func aclEntryValues(f func(NetworkAclEntry) string) func(network.NetworkACL) []string {
	return func(network.NetworkACL) []string {
		out := make([]string, 0, len(defaultACLEntries))
		for _, e := range defaultACLEntries {
			out = append(out, f(e))
		}
		return out
	}
}

// aclAssociationValues collects a field of an ACL's subnet associations.
func aclAssociationValues(f func(network.ACLAssociation) string) func(network.NetworkACL) []string {
	return func(acl network.NetworkACL) []string {
		out := make([]string, 0, len(acl.Associations))
		for _, as := range acl.Associations {
			out = append(out, f(as))
		}
		return out
	}
}

var networkACLFilters = filterFuncs[network.NetworkACL]{
	"network-acl-id":             func(acl network.NetworkACL) []string { return []string{acl.ID} },
	"vpc-id":                     func(acl network.NetworkACL) []string { return []string{acl.VpcID} },
	"owner-id":                   func(acl network.NetworkACL) []string { return []string{acl.Owner} },
	"default":                    func(acl network.NetworkACL) []string { return []string{"true"} },
	"association.subnet-id":      aclAssociationValues(func(as network.ACLAssociation) string { return as.SubnetID }),
	"association.association-id": aclAssociationValues(func(as network.ACLAssociation) string { return as.ID }),
	"association.network-acl-id": func(acl network.NetworkACL) []string { return []string{acl.ID} },
	"entry.rule-number":          aclEntryValues(func(e NetworkAclEntry) string { return strconv.Itoa(int(e.RuleNumber)) }),
	"entry.rule-action":          aclEntryValues(func(e NetworkAclEntry) string { return e.RuleAction }),
	"entry.protocol":             aclEntryValues(func(e NetworkAclEntry) string { return e.Protocol }),
	"entry.egress":               aclEntryValues(func(e NetworkAclEntry) string { return strconv.FormatBool(e.Egress) }),
	"entry.cidr":                 aclEntryValues(func(e NetworkAclEntry) string { return e.CidrBlock }),
}

func (a *API) describeNetworkAcls(ctx context.Context, c *caller, req *describeNetworkAclsRequest) (*describeNetworkAclsResponse, error) {
	all, err := a.ctl.NetworkACLs(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	for _, id := range req.NetworkAclIds {
		if !model.ValidID(model.PrefixACL, id) {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonMalformedACLID, "Invalid id: \"%s\"", id)
		}
	}
	acls, next, err := describe(all, query[network.NetworkACL]{
		IDs: req.NetworkAclIds, Kind: model.KindNetworkACL, NotFoundMsg: "The networkAcl ID '%s' does not exist",
		IDOf:    func(acl network.NetworkACL) string { return acl.ID },
		Filters: req.Filters, Funcs: networkACLFilters, TagsOf: func(acl network.NetworkACL) model.Tags { return acl.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, toNetworkAcl)
	if err != nil {
		return nil, err
	}
	return &describeNetworkAclsResponse{NetworkAcls: acls, NextToken: next}, nil
}
