package awsapi

import (
	"context"
	"time"

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

var connectionFilters = filterFuncs[*model.Endpoint]{
	"service-id":         func(ep *model.Endpoint) []string { return []string{ep.ServiceID} },
	"vpc-endpoint-owner": func(ep *model.Endpoint) []string { return []string{ep.Owner} },
	"vpc-endpoint-state": func(ep *model.Endpoint) []string { return []string{ep.State} },
	"vpc-endpoint-id":    func(ep *model.Endpoint) []string { return []string{ep.ID} },
	"ip-address-type":    func(ep *model.Endpoint) []string { return []string{ep.IPAddressType} },
}

// describeConnections selects the connections by filters and page on the
// endpoint records, then has only the selected ones described.
func (a *API) describeConnections(ctx context.Context, c *caller, req *describeConnectionsRequest) (*describeConnectionsResponse, error) {
	var next string
	ds, err := a.ctl.DescribeConnections(ctx, c.Account, func(all []*model.Endpoint) ([]*model.Endpoint, error) {
		page, n, err := describe(all, query[*model.Endpoint]{
			IDOf:    func(ep *model.Endpoint) string { return ep.ID },
			Filters: req.Filters, Funcs: connectionFilters,
			// The endpoint's tags belong to its owner; the service owner does not see them.
			TagsOf:     func(*model.Endpoint) model.Tags { return nil },
			MaxResults: req.MaxResults, NextToken: req.NextToken, Clamp: true,
		}, func(ep *model.Endpoint) *model.Endpoint { return ep })
		next = n
		return page, err
	})
	if err != nil {
		return nil, err
	}
	conns := make([]VpcEndpointConnection, 0, len(ds))
	for _, d := range ds {
		conns = append(conns, VpcEndpointConnection{
			ServiceId: d.ServiceID, VpcEndpointId: d.ID, VpcEndpointOwner: d.Owner, VpcEndpointState: d.State,
			CreationTimestamp: d.Created, DnsEntries: dnsEntries(d.DNSEntries), NetworkLoadBalancerArns: nonNil(d.NLBARNs),
			IpAddressType: d.IPAddressType, VpcEndpointConnectionId: d.ConnectionID, VpcEndpointRegion: a.ctl.Region(),
		})
	}
	return &describeConnectionsResponse{VpcEndpointConnections: conns, NextToken: next}, nil
}
