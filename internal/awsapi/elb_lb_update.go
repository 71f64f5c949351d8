package awsapi

import (
	"context"
	"strconv"

	"strait/internal/control/elb"
	"strait/internal/model"
)

func (a *API) loadBalancerUpdateActions() map[string]handler {
	return map[string]handler{
		"SetSubnets":            bind(a.setSubnets),
		"SetSecurityGroups":     bind(a.setSecurityGroups),
		"SetIpAddressType":      bind(a.setIPAddressType),
		"DescribeAccountLimits": bind(a.describeAccountLimits),
	}
}

type setSubnetsRequest struct {
	LoadBalancerArn              string
	Subnets                      []string
	SubnetMappings               []elbSubnetMapping
	IpAddressType                string
	EnablePrefixForIpv6SourceNat string
}

type setSubnetsResponse struct {
	AvailabilityZones []elbAvailabilityZone
	IpAddressType     string
}

func (a *API) setSubnets(ctx context.Context, c *caller, req *setSubnetsRequest) (*setSubnetsResponse, error) {
	if req.IpAddressType != "" && req.IpAddressType != "ipv4" || req.EnablePrefixForIpv6SourceNat == "on" {
		return nil, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Strait load balancers are IPv4 only: IpAddressType can only be 'ipv4'")
	}
	var mappings []elb.SubnetMapping
	for _, m := range req.SubnetMappings {
		if m.AllocationId != "" || m.IPv6Address != "" {
			return nil, model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Elastic IP allocations and IPv6 addresses are not supported in subnet mappings: Strait load balancers have private IPv4 addresses only")
		}
		mappings = append(mappings, elb.SubnetMapping{SubnetID: m.SubnetId, PrivateIPv4: m.PrivateIPv4Address})
	}
	lb, err := a.ctl.SetSubnets(ctx, c.Account, req.LoadBalancerArn, req.Subnets, mappings)
	if err != nil {
		return nil, err
	}
	out := toELBLoadBalancer(lb)
	return &setSubnetsResponse{AvailabilityZones: out.AvailabilityZones, IpAddressType: out.IpAddressType}, nil
}

type setSecurityGroupsRequest struct {
	LoadBalancerArn                                      string
	SecurityGroups                                       []string
	EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic string
}

type setSecurityGroupsResponse struct {
	SecurityGroupIds                                     []string
	EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic string
}

func (a *API) setSecurityGroups(ctx context.Context, c *caller, req *setSecurityGroupsRequest) (*setSecurityGroupsResponse, error) {
	lb, err := a.ctl.SetSecurityGroups(ctx, c.Account, req.LoadBalancerArn, req.SecurityGroups, req.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic)
	if err != nil {
		return nil, err
	}
	return &setSecurityGroupsResponse{SecurityGroupIds: nonNil(lb.SecurityGroups), EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: lb.EnforceSGInboundOnPrivateLink}, nil
}

type setIPAddressTypeRequest struct {
	LoadBalancerArn string
	IpAddressType   string
}

type setIPAddressTypeResponse struct {
	IpAddressType string
}

func (a *API) setIPAddressType(ctx context.Context, c *caller, req *setIPAddressTypeRequest) (*setIPAddressTypeResponse, error) {
	t, err := a.ctl.SetIPAddressType(ctx, c.Account, req.LoadBalancerArn, req.IpAddressType)
	if err != nil {
		return nil, err
	}
	return &setIPAddressTypeResponse{IpAddressType: t}, nil
}

type describeAccountLimitsRequest struct {
	Marker   string
	PageSize *int32
}

type elbLimit struct {
	Name string
	Max  string
}

type describeAccountLimitsResponse struct {
	Limits     []elbLimit
	NextMarker string
}

// describeAccountLimits lists the quotas Strait enforces (elb.ELBLimits), not
// AWS's others: Strait has no limit on the number of load balancers or groups.
func (a *API) describeAccountLimits(_ context.Context, _ *caller, req *describeAccountLimitsRequest) (*describeAccountLimitsResponse, error) {
	page, next, err := elbPage(elb.ELBLimits(), func(l elb.ELBLimit) string { return l.Name }, req.PageSize, req.Marker,
		func(l elb.ELBLimit) elbLimit { return elbLimit{Name: l.Name, Max: strconv.Itoa(l.Max)} })
	if err != nil {
		return nil, err
	}
	return &describeAccountLimitsResponse{Limits: page, NextMarker: next}, nil
}
