package awsapi

import (
	"context"
	"slices"
	"strings"
	"time"

	"strait/internal/control/elb"
	"strait/internal/model"
)

func (a *API) loadBalancerActions() map[string]handler {
	return map[string]handler{
		"CreateLoadBalancer":             bind(a.createLoadBalancer),
		"DescribeLoadBalancers":          bind(a.describeLoadBalancers),
		"DeleteLoadBalancer":             bind(a.deleteLoadBalancer),
		"DescribeLoadBalancerAttributes": bind(a.describeLoadBalancerAttributes),
		"ModifyLoadBalancerAttributes":   bind(a.modifyLoadBalancerAttributes),
	}
}

// elbLoadBalancer is the ELBv2 LoadBalancer shape.
type elbLoadBalancer struct {
	LoadBalancerArn                                      string
	DNSName                                              string
	CanonicalHostedZoneId                                string
	CreatedTime                                          time.Time
	LoadBalancerName                                     string
	Scheme                                               string
	VpcId                                                string
	State                                                *elbLoadBalancerState
	Type                                                 string
	AvailabilityZones                                    []elbAvailabilityZone
	SecurityGroups                                       []string
	IpAddressType                                        string
	EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic string
}

type elbLoadBalancerState struct {
	Code   string
	Reason string
}

type elbAvailabilityZone struct {
	ZoneName              string
	SubnetId              string
	LoadBalancerAddresses []elbLoadBalancerAddress
}

type elbLoadBalancerAddress struct {
	PrivateIPv4Address string
}

func toELBLoadBalancer(lb model.LoadBalancer) elbLoadBalancer {
	out := elbLoadBalancer{
		LoadBalancerArn: lb.ARN, DNSName: lb.DNSName, CanonicalHostedZoneId: lb.HostedZoneID, CreatedTime: lb.Created,
		LoadBalancerName: lb.Name, Scheme: lb.Scheme, VpcId: lb.VpcID,
		State: &elbLoadBalancerState{Code: lb.State, Reason: lb.StateReason}, Type: lb.Type,
		AvailabilityZones: []elbAvailabilityZone{}, SecurityGroups: lb.SecurityGroups, IpAddressType: lb.IPAddressType,
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: lb.EnforceSGInboundOnPrivateLink,
	}
	nodes := slices.Clone(lb.Nodes)
	slices.SortFunc(nodes, func(x, y model.LBNode) int { return strings.Compare(x.AZ, y.AZ) })
	for _, n := range nodes {
		out.AvailabilityZones = append(out.AvailabilityZones, elbAvailabilityZone{
			ZoneName: n.AZ, SubnetId: n.SubnetID,
			LoadBalancerAddresses: []elbLoadBalancerAddress{{PrivateIPv4Address: n.PrivateIP}},
		})
	}
	return out
}

type elbSubnetMapping struct {
	SubnetId           string
	PrivateIPv4Address string
	AllocationId       string
	IPv6Address        string
}

type createLoadBalancerRequest struct {
	Name                  string
	Subnets               []string
	SubnetMappings        []elbSubnetMapping
	SecurityGroups        []string
	Scheme                string
	Tags                  []elbTag
	Type                  string
	IpAddressType         string
	CustomerOwnedIpv4Pool string
}

type createLoadBalancerResponse struct {
	LoadBalancers []elbLoadBalancer
}

func (a *API) createLoadBalancer(ctx context.Context, c *caller, req *createLoadBalancerRequest) (*createLoadBalancerResponse, error) {
	if req.Type == "" {
		req.Type = elb.LBTypeApplication // AWS's default
	}
	if req.CustomerOwnedIpv4Pool != "" {
		return nil, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Customer-owned IP pools (Outposts) are not supported")
	}
	in := elb.CreateLoadBalancerInput{
		Name: req.Name, Type: req.Type, Scheme: req.Scheme, IPAddressType: req.IpAddressType,
		Subnets: req.Subnets, SecurityGroups: req.SecurityGroups, Tags: keyValues[elb.ELBTag](req.Tags),
	}
	for _, m := range req.SubnetMappings {
		if m.AllocationId != "" || m.IPv6Address != "" {
			return nil, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Elastic IP allocations and IPv6 addresses are not supported in subnet mappings: Strait load balancers have private IPv4 addresses only")
		}
		in.SubnetMappings = append(in.SubnetMappings, elb.SubnetMapping{SubnetID: m.SubnetId, PrivateIPv4: m.PrivateIPv4Address})
	}
	lb, err := a.ctl.CreateLoadBalancer(ctx, c.Account, in)
	if err != nil {
		return nil, err
	}
	return &createLoadBalancerResponse{LoadBalancers: []elbLoadBalancer{toELBLoadBalancer(lb)}}, nil
}

type describeLoadBalancersRequest struct {
	LoadBalancerArns []string
	Names            []string
	Marker           string
	PageSize         *int32
}

type describeLoadBalancersResponse struct {
	LoadBalancers []elbLoadBalancer
	NextMarker    string
}

func (a *API) describeLoadBalancers(ctx context.Context, c *caller, req *describeLoadBalancersRequest) (*describeLoadBalancersResponse, error) {
	if len(req.LoadBalancerArns) > 0 && len(req.Names) > 0 {
		return nil, model.Invalid("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	var lbs []model.LoadBalancer
	var err error
	switch {
	case len(req.LoadBalancerArns) > 0:
		lbs, err = elbByARNs(req.LoadBalancerArns, func(arn string) (model.LoadBalancer, error) {
			return a.ctl.LoadBalancer(ctx, c.Account, arn)
		}, func(lb model.LoadBalancer) string { return lb.ARN })
	case len(req.Names) > 0:
		lbs, err = a.ctl.LoadBalancersByName(ctx, c.Account, req.Names)
	default:
		lbs, err = a.ctl.LoadBalancers(ctx, c.Account)
	}
	if err != nil {
		return nil, err
	}
	page, next, err := elbPage(lbs, func(lb model.LoadBalancer) string { return lb.Name }, req.PageSize, req.Marker, toELBLoadBalancer)
	if err != nil {
		return nil, err
	}
	return &describeLoadBalancersResponse{LoadBalancers: page, NextMarker: next}, nil
}

type deleteLoadBalancerRequest struct {
	LoadBalancerArn string
}

func (a *API) deleteLoadBalancer(ctx context.Context, c *caller, req *deleteLoadBalancerRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteLoadBalancer(ctx, c.Account, req.LoadBalancerArn)
}

type describeLoadBalancerAttributesRequest struct {
	LoadBalancerArn string
}

type elbAttributesResponse struct {
	Attributes []elbAttributeOut
}

func (a *API) describeLoadBalancerAttributes(ctx context.Context, c *caller, req *describeLoadBalancerAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.LoadBalancerAttributes(ctx, c.Account, req.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}

type modifyLoadBalancerAttributesRequest struct {
	LoadBalancerArn string
	Attributes      []elbAttribute
}

func (a *API) modifyLoadBalancerAttributes(ctx context.Context, c *caller, req *modifyLoadBalancerAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.ModifyLoadBalancerAttributes(ctx, c.Account, req.LoadBalancerArn, keyValues[elb.ELBAttribute](req.Attributes))
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}
