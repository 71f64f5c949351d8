package awsapi

import (
	"context"
	"time"

	"strait/internal/control/endpoints"
	"strait/internal/model"
)

func (a *API) endpointActions() map[string]handler {
	return map[string]handler{
		"CreateVpcEndpoint":    bind(a.createEndpoint),
		"ModifyVpcEndpoint":    bind(a.modifyEndpoint),
		"DescribeVpcEndpoints": bind(a.describeEndpoints),
		"DeleteVpcEndpoints":   bind(a.deleteEndpoints),
	}
}

// VpcEndpoint is the EC2 VpcEndpoint shape.
type VpcEndpoint struct {
	VpcEndpointId       string
	VpcEndpointType     string
	VpcId               string
	ServiceName         string
	State               string
	PolicyDocument      string
	RouteTableIds       []string
	SubnetIds           []string
	Groups              []SecurityGroupIdentifier
	IpAddressType       string
	DnsOptions          *DnsOptions
	PrivateDnsEnabled   bool
	RequesterManaged    bool
	NetworkInterfaceIds []string
	DnsEntries          []DnsEntry
	CreationTimestamp   time.Time
	Tags                []Tag
	OwnerId             string
	ServiceRegion       string
}

// SecurityGroupIdentifier names a security group.
type SecurityGroupIdentifier struct {
	GroupId   string
	GroupName string
}

// DnsOptions are an endpoint's DNS options.
type DnsOptions struct{ DnsRecordIpType string }

// DnsEntry is one DNS name of an endpoint.
type DnsEntry struct {
	DnsName      string
	HostedZoneId string
}

func dnsEntries(entries []endpoints.DNSEntry) []DnsEntry {
	out := []DnsEntry{}
	for _, e := range entries {
		out = append(out, DnsEntry{DnsName: e.Name, HostedZoneId: e.HostedZoneID})
	}
	return out
}

func (a *API) toVpcEndpoint(d endpoints.EndpointDetail) VpcEndpoint {
	ep := d.Endpoint
	out := VpcEndpoint{
		VpcEndpointId: ep.ID, VpcEndpointType: ep.Type, VpcId: ep.VpcID, ServiceName: ep.ServiceName,
		State: ep.State, PolicyDocument: ep.PolicyDocument, RouteTableIds: []string{},
		SubnetIds: nonNil(ep.SubnetIDs), Groups: []SecurityGroupIdentifier{}, IpAddressType: ep.IPAddressType,
		DnsOptions: &DnsOptions{DnsRecordIpType: endpoints.EndpointDNSRecordIPType(ep)}, PrivateDnsEnabled: ep.PrivateDNSEnabled,
		NetworkInterfaceIds: nonNil(ep.ENIs), DnsEntries: dnsEntries(d.DNSEntries),
		CreationTimestamp: ep.Created, Tags: ec2Tags(ep.Tags), OwnerId: ep.Owner, ServiceRegion: a.ctl.Region(),
	}
	for _, g := range ep.SecurityGroups {
		out.Groups = append(out.Groups, SecurityGroupIdentifier{GroupId: g, GroupName: d.GroupNames[g]})
	}
	return out
}

// DnsOptionsSpecification is the DnsOptions parameter of CreateVpcEndpoint and
// ModifyVpcEndpoint.
type DnsOptionsSpecification struct {
	DnsRecordIpType string
}

type createEndpointRequest struct {
	VpcEndpointType   string
	VpcId             string
	ServiceName       string
	PolicyDocument    string
	RouteTableIds     []string
	SubnetIds         []string
	SecurityGroupIds  []string
	IpAddressType     string
	DnsOptions        *DnsOptionsSpecification
	ClientToken       string
	PrivateDnsEnabled *bool
	TagSpecifications []TagSpecification
	DryRun            bool
}

type createEndpointResponse struct {
	VpcEndpoint VpcEndpoint
	ClientToken string
}

func (a *API) createEndpoint(ctx context.Context, c *caller, req *createEndpointRequest) (*createEndpointResponse, error) {
	if len(req.RouteTableIds) > 0 {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameter, "Route tables apply to gateway endpoints only; interface endpoints take SubnetIds")
	}
	tags, err := tagsFor(req.TagSpecifications, "vpc-endpoint")
	if err != nil {
		return nil, err
	}
	in := endpoints.CreateEndpointInput{
		Type: req.VpcEndpointType, VpcID: req.VpcId, ServiceName: req.ServiceName, SubnetIDs: req.SubnetIds,
		SecurityGroupIDs: req.SecurityGroupIds, PrivateDNSEnabled: req.PrivateDnsEnabled,
		PolicyDocument: req.PolicyDocument, IPAddressType: req.IpAddressType, Tags: tags, ClientToken: req.ClientToken,
	}
	if req.DnsOptions != nil {
		in.DNSRecordIPType = req.DnsOptions.DnsRecordIpType
	}
	ep, err := a.ctl.CreateEndpoint(ctx, c.Account, in)
	if err != nil {
		return nil, err
	}
	d, err := a.ctl.EndpointDetail(ctx, ep)
	if err != nil {
		return nil, err
	}
	return &createEndpointResponse{VpcEndpoint: a.toVpcEndpoint(d), ClientToken: req.ClientToken}, nil
}

type modifyEndpointRequest struct {
	VpcEndpointId          string
	ResetPolicy            bool
	PolicyDocument         string
	AddRouteTableIds       []string
	RemoveRouteTableIds    []string
	AddSubnetIds           []string
	RemoveSubnetIds        []string
	AddSecurityGroupIds    []string
	RemoveSecurityGroupIds []string
	IpAddressType          string
	DnsOptions             *DnsOptionsSpecification
	PrivateDnsEnabled      *bool
	DryRun                 bool
}

func (a *API) modifyEndpoint(ctx context.Context, c *caller, req *modifyEndpointRequest) (*returnResponse, error) {
	if len(req.AddRouteTableIds)+len(req.RemoveRouteTableIds) > 0 {
		return nil, model.WithReason(model.ErrInvalid, model.ReasonParameter, "Route tables apply to gateway endpoints only")
	}
	in := endpoints.ModifyEndpointInput{
		AddSubnetIDs: req.AddSubnetIds, RemoveSubnetIDs: req.RemoveSubnetIds,
		AddSecurityGroupIDs: req.AddSecurityGroupIds, RemoveSecurityGroupIDs: req.RemoveSecurityGroupIds,
		PrivateDNSEnabled: req.PrivateDnsEnabled, PolicyDocument: req.PolicyDocument, ResetPolicy: req.ResetPolicy,
		IPAddressType: req.IpAddressType,
	}
	if req.DnsOptions != nil {
		in.DNSRecordIPType = req.DnsOptions.DnsRecordIpType
	}
	if err := a.ctl.ModifyEndpoint(ctx, c.Account, req.VpcEndpointId, in); err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}

type describeEndpointsRequest struct {
	VpcEndpointIds []string
	Filters        []Filter
	MaxResults     int32
	NextToken      string
	DryRun         bool
}

type describeEndpointsResponse struct {
	VpcEndpoints []VpcEndpoint
	NextToken    string
}

func (a *API) endpointFilters() filterFuncs[*model.Endpoint] {
	return filterFuncs[*model.Endpoint]{
		"vpc-id":             func(ep *model.Endpoint) []string { return []string{ep.VpcID} },
		"vpc-endpoint-id":    func(ep *model.Endpoint) []string { return []string{ep.ID} },
		"vpc-endpoint-state": func(ep *model.Endpoint) []string { return []string{ep.State} },
		"vpc-endpoint-type":  func(ep *model.Endpoint) []string { return []string{ep.Type} },
		"service-name":       func(ep *model.Endpoint) []string { return []string{ep.ServiceName} },
		"ip-address-type":    func(ep *model.Endpoint) []string { return []string{ep.IPAddressType} },
		"service-region":     func(*model.Endpoint) []string { return []string{a.ctl.Region()} },
	}
}

// describeEndpoints selects the endpoints by IDs, filters and page on their
// records, then has only the selected ones described.
func (a *API) describeEndpoints(ctx context.Context, c *caller, req *describeEndpointsRequest) (*describeEndpointsResponse, error) {
	if err := checkIDs(model.KindEndpoint, model.PrefixEndpoint, req.VpcEndpointIds); err != nil {
		return nil, err
	}
	var next string
	ds, err := a.ctl.DescribeEndpoints(ctx, c.Account, req.VpcEndpointIds, func(all []*model.Endpoint) ([]*model.Endpoint, error) {
		page, n, err := describe(all, query[*model.Endpoint]{
			IDs: req.VpcEndpointIds, Kind: model.KindEndpoint, IDOf: func(ep *model.Endpoint) string { return ep.ID },
			Filters: req.Filters, Funcs: a.endpointFilters(), TagsOf: func(ep *model.Endpoint) model.Tags { return ep.Tags },
			MaxResults: req.MaxResults, NextToken: req.NextToken, MinLimit: 1, Clamp: true,
		}, func(ep *model.Endpoint) *model.Endpoint { return ep })
		next = n
		return page, err
	})
	if err != nil {
		return nil, err
	}
	eps := make([]VpcEndpoint, 0, len(ds))
	for _, d := range ds {
		eps = append(eps, a.toVpcEndpoint(d))
	}
	return &describeEndpointsResponse{VpcEndpoints: eps, NextToken: next}, nil
}

type deleteEndpointsRequest struct {
	VpcEndpointIds []string
	DryRun         bool
}

func (a *API) deleteEndpoints(ctx context.Context, c *caller, req *deleteEndpointsRequest) (*unsuccessfulResponse, error) {
	failed, err := a.ctl.DeleteEndpoints(ctx, c.Account, req.VpcEndpointIds)
	if err != nil {
		return nil, err
	}
	return &unsuccessfulResponse{Unsuccessful: unsuccessful(failed)}, nil
}
