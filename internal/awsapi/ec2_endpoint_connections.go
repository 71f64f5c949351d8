package awsapi

import (
	"context"
	"time"

	"strait/internal/control"
	"strait/internal/model"
)

func (a *API) connectionActions() map[string]handler {
	return map[string]handler{
		"AcceptVpcEndpointConnections":   bind(a.acceptConnections),
		"RejectVpcEndpointConnections":   bind(a.rejectConnections),
		"DescribeVpcEndpointConnections": bind(a.describeConnections),
	}
}

type decideConnectionsRequest struct {
	ServiceId      string
	VpcEndpointIds []string
	DryRun         bool
}

func (a *API) acceptConnections(ctx context.Context, c *caller, req *decideConnectionsRequest) (*unsuccessfulResponse, error) {
	failed, err := a.ctl.AcceptEndpointConnections(ctx, c.Account, req.ServiceId, req.VpcEndpointIds)
	if err != nil {
		return nil, err
	}
	return &unsuccessfulResponse{Unsuccessful: unsuccessful(failed)}, nil
}

func (a *API) rejectConnections(ctx context.Context, c *caller, req *decideConnectionsRequest) (*unsuccessfulResponse, error) {
	failed, err := a.ctl.RejectEndpointConnections(ctx, c.Account, req.ServiceId, req.VpcEndpointIds)
	if err != nil {
		return nil, err
	}
	return &unsuccessfulResponse{Unsuccessful: unsuccessful(failed)}, nil
}

// VpcEndpointConnection is the EC2 VpcEndpointConnection shape: an endpoint as its
// service's owner sees it.
type VpcEndpointConnection struct {
	ServiceId               string
	VpcEndpointId           string
	VpcEndpointOwner        string
	VpcEndpointState        string
	CreationTimestamp       time.Time
	DnsEntries              []DnsEntry
	NetworkLoadBalancerArns []string
	IpAddressType           string
	VpcEndpointConnectionId string
	Tags                    []Tag
	VpcEndpointRegion       string
}

type describeConnectionsRequest struct {
	Filters    []Filter
	MaxResults int32
	NextToken  string
	DryRun     bool
}

type describeConnectionsResponse struct {
	VpcEndpointConnections []VpcEndpointConnection
	NextToken              string
}

var connectionFilters = filterFuncs[control.EndpointDetail]{
	"service-id":         func(d control.EndpointDetail) []string { return []string{d.ServiceID} },
	"vpc-endpoint-owner": func(d control.EndpointDetail) []string { return []string{d.Owner} },
	"vpc-endpoint-state": func(d control.EndpointDetail) []string { return []string{d.State} },
	"vpc-endpoint-id":    func(d control.EndpointDetail) []string { return []string{d.ID} },
	"ip-address-type":    func(d control.EndpointDetail) []string { return []string{d.IPAddressType} },
}

func (a *API) describeConnections(ctx context.Context, c *caller, req *describeConnectionsRequest) (*describeConnectionsResponse, error) {
	all, err := a.ctl.EndpointConnections(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	conns, next, err := describe(all, query[control.EndpointDetail]{
		IDOf:    func(d control.EndpointDetail) string { return d.ID },
		Filters: req.Filters, Funcs: connectionFilters,
		// The endpoint's tags belong to its owner; the service owner does not see them.
		TagsOf:     func(control.EndpointDetail) model.Tags { return nil },
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, func(d control.EndpointDetail) VpcEndpointConnection {
		return VpcEndpointConnection{
			ServiceId: d.ServiceID, VpcEndpointId: d.ID, VpcEndpointOwner: d.Owner, VpcEndpointState: d.State,
			CreationTimestamp: d.Created, DnsEntries: dnsEntries(d.DNSEntries), NetworkLoadBalancerArns: nonNil(d.NLBARNs),
			IpAddressType: d.IPAddressType, VpcEndpointConnectionId: d.ConnectionID, VpcEndpointRegion: a.ctl.Region(),
		}
	})
	if err != nil {
		return nil, err
	}
	return &describeConnectionsResponse{VpcEndpointConnections: conns, NextToken: next}, nil
}
