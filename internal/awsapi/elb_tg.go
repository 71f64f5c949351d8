package awsapi

import (
	"context"

	"strait/internal/control/elb"
	"strait/internal/model"
)

func (a *API) targetGroupActions() map[string]handler {
	return map[string]handler{
		"CreateTargetGroup":             bind(a.createTargetGroup),
		"DescribeTargetGroups":          bind(a.describeTargetGroups),
		"ModifyTargetGroup":             bind(a.modifyTargetGroup),
		"DeleteTargetGroup":             bind(a.deleteTargetGroup),
		"DescribeTargetGroupAttributes": bind(a.describeTargetGroupAttributes),
		"ModifyTargetGroupAttributes":   bind(a.modifyTargetGroupAttributes),
	}
}

// elbTargetGroup is the ELBv2 TargetGroup shape.
type elbTargetGroup struct {
	TargetGroupArn             string
	TargetGroupName            string
	Protocol                   string
	Port                       int32
	VpcId                      string
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckEnabled         bool
	HealthCheckIntervalSeconds int32
	HealthCheckTimeoutSeconds  int32
	HealthyThresholdCount      int32
	UnhealthyThresholdCount    int32
	HealthCheckPath            string
	Matcher                    *elbMatcher
	LoadBalancerArns           []string
	TargetType                 string
	IpAddressType              string
}

// elbMatcher is the ELBv2 Matcher shape.
type elbMatcher struct {
	HttpCode string
	GrpcCode string
}

func toELBTargetGroup(tg model.TargetGroup) elbTargetGroup {
	hc := tg.HealthCheck
	out := elbTargetGroup{
		TargetGroupArn: tg.ARN, TargetGroupName: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcId: tg.VpcID,
		HealthCheckProtocol: hc.Protocol, HealthCheckPort: hc.Port, HealthCheckEnabled: hc.Enabled,
		HealthCheckIntervalSeconds: hc.IntervalSeconds, HealthCheckTimeoutSeconds: hc.TimeoutSeconds,
		HealthyThresholdCount: hc.HealthyThreshold, UnhealthyThresholdCount: hc.UnhealthyThreshold,
		HealthCheckPath: hc.Path, LoadBalancerArns: elb.TargetGroupLoadBalancers(tg),
		TargetType: tg.TargetType, IpAddressType: tg.IPAddressType,
	}
	if out.LoadBalancerArns == nil {
		out.LoadBalancerArns = []string{}
	}
	if hc.Matcher != "" {
		out.Matcher = &elbMatcher{HttpCode: hc.Matcher}
	}
	return out
}

// healthCheckFields are the health-check members of CreateTargetGroup and
// ModifyTargetGroup requests.
type healthCheckFields struct {
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckPath            string
	HealthCheckEnabled         *bool
	HealthCheckIntervalSeconds *int32
	HealthCheckTimeoutSeconds  *int32
	HealthyThresholdCount      *int32
	UnhealthyThresholdCount    *int32
	Matcher                    *elbMatcher
}

func (h healthCheckFields) input() (elb.HealthCheckInput, error) {
	in := elb.HealthCheckInput{
		Enabled: h.HealthCheckEnabled, Protocol: h.HealthCheckProtocol, Port: h.HealthCheckPort, Path: h.HealthCheckPath,
		IntervalSeconds: h.HealthCheckIntervalSeconds, TimeoutSeconds: h.HealthCheckTimeoutSeconds,
		HealthyThreshold: h.HealthyThresholdCount, UnhealthyThreshold: h.UnhealthyThresholdCount,
	}
	if h.Matcher != nil {
		if h.Matcher.GrpcCode != "" {
			return in, model.Invalid("A gRPC matcher applies to gRPC target groups of application load balancers only")
		}
		in.Matcher = h.Matcher.HttpCode
	}
	return in, nil
}

type createTargetGroupRequest struct {
	Name            string
	Protocol        string
	ProtocolVersion string
	Port            int32
	VpcId           string
	TargetType      string
	IpAddressType   string
	Tags            []elbTag
	healthCheckFields
}

type targetGroupsResponse struct {
	TargetGroups []elbTargetGroup
}

func (a *API) createTargetGroup(ctx context.Context, c *caller, req *createTargetGroupRequest) (*targetGroupsResponse, error) {
	if req.ProtocolVersion != "" {
		return nil, model.Invalid("A protocol version applies to HTTP and HTTPS target groups only")
	}
	hc, err := req.input()
	if err != nil {
		return nil, err
	}
	tg, err := a.ctl.CreateTargetGroup(ctx, c.Account, elb.CreateTargetGroupInput{
		Name: req.Name, Protocol: req.Protocol, Port: req.Port, VpcID: req.VpcId, TargetType: req.TargetType,
		IPAddressType: req.IpAddressType, HealthCheck: hc, Tags: keyValues[elb.ELBTag](req.Tags),
	})
	if err != nil {
		return nil, err
	}
	return &targetGroupsResponse{TargetGroups: []elbTargetGroup{toELBTargetGroup(tg)}}, nil
}

type describeTargetGroupsRequest struct {
	LoadBalancerArn string
	TargetGroupArns []string
	Names           []string
	Marker          string
	PageSize        *int32
}

type describeTargetGroupsResponse struct {
	TargetGroups []elbTargetGroup
	NextMarker   string
}

func (a *API) describeTargetGroups(ctx context.Context, c *caller, req *describeTargetGroupsRequest) (*describeTargetGroupsResponse, error) {
	if err := elbOnlyOne(map[string]bool{"LoadBalancerArn": req.LoadBalancerArn != "", "TargetGroupArns": len(req.TargetGroupArns) > 0, "Names": len(req.Names) > 0}); err != nil {
		return nil, err
	}
	var tgs []model.TargetGroup
	var err error
	switch {
	case req.LoadBalancerArn != "":
		tgs, err = a.ctl.TargetGroupsOfLoadBalancer(ctx, c.Account, req.LoadBalancerArn)
	case len(req.TargetGroupArns) > 0:
		tgs, err = elbByARNs(req.TargetGroupArns, func(arn string) (model.TargetGroup, error) {
			return a.ctl.TargetGroup(ctx, c.Account, arn)
		}, func(tg model.TargetGroup) string { return tg.ARN })
	case len(req.Names) > 0:
		tgs, err = a.ctl.TargetGroupsByName(ctx, c.Account, req.Names)
	default:
		tgs, err = a.ctl.TargetGroups(ctx, c.Account)
	}
	if err != nil {
		return nil, err
	}
	page, next, err := elbPage(tgs, func(tg model.TargetGroup) string { return tg.Name }, req.PageSize, req.Marker, toELBTargetGroup)
	if err != nil {
		return nil, err
	}
	return &describeTargetGroupsResponse{TargetGroups: page, NextMarker: next}, nil
}

type modifyTargetGroupRequest struct {
	TargetGroupArn string
	healthCheckFields
}

func (a *API) modifyTargetGroup(ctx context.Context, c *caller, req *modifyTargetGroupRequest) (*targetGroupsResponse, error) {
	hc, err := req.input()
	if err != nil {
		return nil, err
	}
	tg, err := a.ctl.ModifyTargetGroup(ctx, c.Account, req.TargetGroupArn, hc)
	if err != nil {
		return nil, err
	}
	return &targetGroupsResponse{TargetGroups: []elbTargetGroup{toELBTargetGroup(tg)}}, nil
}

type deleteTargetGroupRequest struct {
	TargetGroupArn string
}

func (a *API) deleteTargetGroup(ctx context.Context, c *caller, req *deleteTargetGroupRequest) (*emptyResponse, error) {
	return &emptyResponse{}, a.ctl.DeleteTargetGroup(ctx, c.Account, req.TargetGroupArn)
}

type targetGroupAttributesRequest struct {
	TargetGroupArn string
	Attributes     []elbAttribute
}

func (a *API) describeTargetGroupAttributes(ctx context.Context, c *caller, req *targetGroupAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.TargetGroupAttributes(ctx, c.Account, req.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}

func (a *API) modifyTargetGroupAttributes(ctx context.Context, c *caller, req *targetGroupAttributesRequest) (*elbAttributesResponse, error) {
	attrs, err := a.ctl.ModifyTargetGroupAttributes(ctx, c.Account, req.TargetGroupArn, keyValues[elb.ELBAttribute](req.Attributes))
	if err != nil {
		return nil, err
	}
	return &elbAttributesResponse{Attributes: attributesOut(attrs)}, nil
}
