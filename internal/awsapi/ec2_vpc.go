package awsapi

import (
	"context"
	"strconv"

	"strait/internal/control/network"
	"strait/internal/model"
)

// Vpc is the EC2 Vpc shape.
type Vpc struct {
	VpcId                   string
	OwnerId                 string
	State                   string
	CidrBlock               string
	CidrBlockAssociationSet []VpcCidrBlockAssociation
	DhcpOptionsId           string
	InstanceTenancy         string
	IsDefault               bool
	Tags                    []Tag
}

// VpcCidrBlockAssociation is one IPv4 CIDR of a VPC.
type VpcCidrBlockAssociation struct {
	AssociationId  string
	CidrBlock      string
	CidrBlockState VpcCidrBlockState
}

// VpcCidrBlockState is the state of a VPC CIDR association.
type VpcCidrBlockState struct{ State string }

func toVpc(v model.Vpc) Vpc {
	return Vpc{
		VpcId: v.ID, OwnerId: v.Owner, State: v.State, CidrBlock: v.CIDR,
		CidrBlockAssociationSet: []VpcCidrBlockAssociation{{AssociationId: v.CidrAssociationID, CidrBlock: v.CIDR, CidrBlockState: VpcCidrBlockState{State: "associated"}}},
		DhcpOptionsId:           v.DhcpOptionsID, InstanceTenancy: v.InstanceTenancy, IsDefault: v.IsDefault, Tags: ec2Tags(v.Tags),
	}
}

func (a *API) vpcActions() map[string]handler {
	return map[string]handler{
		"CreateVpc":            bind(a.createVpc),
		"DescribeVpcs":         bind(a.describeVpcs),
		"DeleteVpc":            bind(a.deleteVpc),
		"ModifyVpcAttribute":   bind(a.modifyVpcAttribute),
		"DescribeVpcAttribute": bind(a.describeVpcAttribute),
	}
}

type createVpcRequest struct {
	CidrBlock         string
	InstanceTenancy   string
	TagSpecifications []TagSpecification
	DryRun            bool

	// Refused (ipv4Only).
	AmazonProvidedIpv6CidrBlock     bool
	Ipv6CidrBlock                   string
	Ipv6Pool                        string
	Ipv6IpamPoolId                  string
	Ipv6NetmaskLength               int32
	Ipv6CidrBlockNetworkBorderGroup string
	Ipv4IpamPoolId                  string
	Ipv4NetmaskLength               int32
}

type createVpcResponse struct{ Vpc Vpc }

func (a *API) createVpc(ctx context.Context, c *caller, req *createVpcRequest) (*createVpcResponse, error) {
	if err := ipv4Only("CreateVpc", map[string]bool{"AmazonProvidedIpv6CidrBlock": req.AmazonProvidedIpv6CidrBlock,
		"Ipv6CidrBlock": req.Ipv6CidrBlock != "", "Ipv6Pool": req.Ipv6Pool != "", "Ipv6IpamPoolId": req.Ipv6IpamPoolId != "",
		"Ipv6NetmaskLength": req.Ipv6NetmaskLength != 0, "Ipv6CidrBlockNetworkBorderGroup": req.Ipv6CidrBlockNetworkBorderGroup != "",
		"Ipv4IpamPoolId": req.Ipv4IpamPoolId != "", "Ipv4NetmaskLength": req.Ipv4NetmaskLength != 0}); err != nil {
		return nil, err
	}
	if req.CidrBlock == "" {
		return nil, model.Missing("CidrBlock")
	}
	tags, err := tagsFor(req.TagSpecifications, "vpc")
	if err != nil {
		return nil, err
	}
	v, err := a.ctl.CreateVpc(ctx, c.Account, network.CreateVpcInput{CIDR: req.CidrBlock, InstanceTenancy: req.InstanceTenancy, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &createVpcResponse{Vpc: toVpc(v)}, nil
}

type describeVpcsRequest struct {
	VpcIds     []string
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeVpcsResponse struct {
	Vpcs      []Vpc
	NextToken string
}

var vpcFilters = filterFuncs[model.Vpc]{
	"vpc-id":                                func(v model.Vpc) []string { return []string{v.ID} },
	"cidr":                                  func(v model.Vpc) []string { return []string{v.CIDR} },
	"cidr-block-association.cidr-block":     func(v model.Vpc) []string { return []string{v.CIDR} },
	"cidr-block-association.association-id": func(v model.Vpc) []string { return []string{v.CidrAssociationID} },
	"cidr-block-association.state":          func(v model.Vpc) []string { return []string{"associated"} },
	"dhcp-options-id":                       func(v model.Vpc) []string { return []string{v.DhcpOptionsID} },
	"is-default":                            func(v model.Vpc) []string { return []string{strconv.FormatBool(v.IsDefault)} },
	"isDefault":                             func(v model.Vpc) []string { return []string{strconv.FormatBool(v.IsDefault)} },
	"owner-id":                              func(v model.Vpc) []string { return []string{v.Owner} },
	"state":                                 func(v model.Vpc) []string { return []string{v.State} },
}

func (a *API) describeVpcs(ctx context.Context, c *caller, req *describeVpcsRequest) (*describeVpcsResponse, error) {
	all, err := a.ctl.Vpcs(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	vpcs, next, err := describe(all, query[model.Vpc]{
		IDs: req.VpcIds, Kind: model.KindVpc, IDOf: func(v model.Vpc) string { return v.ID },
		Filters: req.Filters, Funcs: vpcFilters, TagsOf: func(v model.Vpc) model.Tags { return v.Tags },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, toVpc)
	if err != nil {
		return nil, err
	}
	return &describeVpcsResponse{Vpcs: vpcs, NextToken: next}, nil
}

type deleteVpcRequest struct {
	VpcId  string
	DryRun bool
}

type emptyResponse struct{}

func (a *API) deleteVpc(ctx context.Context, c *caller, req *deleteVpcRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteVpc(ctx, c.Account, req.VpcId)
}

type modifyVpcAttributeRequest struct {
	VpcId                            string
	EnableDnsSupport                 *AttributeBooleanValue
	EnableDnsHostnames               *AttributeBooleanValue
	EnableNetworkAddressUsageMetrics *AttributeBooleanValue
}

func (a *API) modifyVpcAttribute(ctx context.Context, c *caller, req *modifyVpcAttributeRequest) (*emptyResponse, error) {
	var in network.VpcAttributes
	if req.EnableDnsSupport != nil {
		in.EnableDNSSupport = req.EnableDnsSupport.Value
	}
	if req.EnableDnsHostnames != nil {
		in.EnableDNSHostnames = req.EnableDnsHostnames.Value
	}
	if req.EnableNetworkAddressUsageMetrics != nil {
		in.EnableNAUMetrics = req.EnableNetworkAddressUsageMetrics.Value
	}
	return &emptyResponse{}, a.ctl.ModifyVpcAttribute(ctx, c.Account, req.VpcId, in)
}

type describeVpcAttributeRequest struct {
	VpcId     string
	Attribute string
	DryRun    bool
}

type describeVpcAttributeResponse struct {
	VpcId                            string
	EnableDnsSupport                 *AttributeBooleanValue
	EnableDnsHostnames               *AttributeBooleanValue
	EnableNetworkAddressUsageMetrics *AttributeBooleanValue
}

func (a *API) describeVpcAttribute(ctx context.Context, c *caller, req *describeVpcAttributeRequest) (*describeVpcAttributeResponse, error) {
	v, err := a.ctl.Vpc(ctx, c.Account, req.VpcId)
	if err != nil {
		return nil, err
	}
	out := &describeVpcAttributeResponse{VpcId: v.ID}
	switch req.Attribute {
	case "enableDnsSupport":
		out.EnableDnsSupport = &AttributeBooleanValue{Value: &v.EnableDNSSupport}
	case "enableDnsHostnames":
		out.EnableDnsHostnames = &AttributeBooleanValue{Value: &v.EnableDNSHostnames}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNetworkAddressUsageMetrics = &AttributeBooleanValue{Value: &v.EnableNAUMetrics}
	}
	return out, nil
}
