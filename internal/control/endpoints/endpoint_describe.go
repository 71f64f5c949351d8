package endpoints

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
)

// DNSEntry is one DNS name of an endpoint and its hosted zone.
type DNSEntry struct {
	Name         string
	HostedZoneID string
}

// EndpointDNSEntries are an endpoint's names: the regional name first, then one
// zonal name per zone, then — with private DNS enabled and the service's name
// verified — the service's private DNS name.
func (c *PrivateLink) EndpointDNSEntries(ep model.Endpoint, verifiedName string) []DNSEntry {
	// Concatenation, not fmt: the reconciler asks for every endpoint's names
	// on each pass.
	suffix := "." + ep.ServiceID + "." + c.Region() + ".vpce." + c.Domain()
	prefix := ep.ID + "-" + ep.DNSLabel
	out := make([]DNSEntry, 0, 2+len(ep.AZs))
	out = append(out, DNSEntry{Name: prefix + suffix, HostedZoneID: EndpointHostedZoneID})
	for _, az := range ep.AZs {
		out = append(out, DNSEntry{Name: prefix + "-" + az + suffix, HostedZoneID: EndpointHostedZoneID})
	}
	if ep.PrivateDNSEnabled && verifiedName != "" && ep.PrivateDNSName == verifiedName {
		out = append(out, DNSEntry{Name: verifiedName, HostedZoneID: privateZoneID(verifiedName)})
	}
	return out
}

// privateZoneID names the private hosted zone of a private DNS name, stably.
func privateZoneID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "Z" + base32.StdEncoding.EncodeToString(sum[:])[:20]
}

// EndpointDetail is an endpoint with what describing it needs from other records.
type EndpointDetail struct {
	model.Endpoint
	DNSEntries []DNSEntry
	// GroupNames maps the endpoint's security group IDs to their names.
	GroupNames map[string]string
	// NLBARNs are the load balancers of the endpoint's service.
	NLBARNs []string
}

// EndpointPicker chooses, among endpoint records in ID order, the ones to
// describe (a describe call's IDs, filters and page); it may fail, for example
// for a listed ID that is not there. It may reorder or reuse the slice it gets
// but not change the records.
type EndpointPicker func([]*model.Endpoint) ([]*model.Endpoint, error)

// Endpoints lists the account's endpoints.
func (c *PrivateLink) Endpoints(ctx context.Context, acct string) ([]EndpointDetail, error) {
	return c.DescribeEndpoints(ctx, acct, nil, nil)
}

// DescribeEndpoints describes the account's endpoints that pick chooses (all of
// them when pick is nil). With ids, pick is given only those of the account's
// endpoints that have one of the IDs (so that it finds a missing or another
// account's ID missing) and the call costs what the IDs name; otherwise it
// costs a pass over the records. Only the chosen endpoints are described.
func (c *PrivateLink) DescribeEndpoints(ctx context.Context, acct string, ids []string, pick EndpointPicker) ([]EndpointDetail, error) {
	ctx = c.WithCache(ctx)
	var eps []*model.Endpoint
	var err error
	switch {
	case len(ids) > 0 && len(ids) <= maxEndpointLookups:
		eps, err = c.ownEndpointsByID(ctx, acct, ids)
	case len(ids) > 0:
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		eps, err = core.ScanWhere(ctx, c.Base, model.KindEndpoint, func(ep *model.Endpoint) bool { return ep.Owner == acct && want[ep.ID] })
	default:
		eps, err = core.ScanWhere(ctx, c.Base, model.KindEndpoint, func(ep *model.Endpoint) bool { return ep.Owner == acct })
	}
	if err != nil {
		return nil, err
	}
	return c.pickedDetails(ctx, eps, pick)
}

// maxEndpointLookups is the most IDs DescribeEndpoints reads one by one; for
// more, one pass over the records costs less (without the read cache, each
// lookup is a read of the store).
const maxEndpointLookups = 64

// ownEndpointsByID reads the account's endpoints with the IDs, in ID order;
// IDs of missing endpoints or of other accounts' are left out.
func (c *PrivateLink) ownEndpointsByID(ctx context.Context, acct string, ids []string) ([]*model.Endpoint, error) {
	var eps []*model.Endpoint
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		ep, ok, err := core.Lookup[model.Endpoint](ctx, c.Base, model.KindEndpoint, id)
		if err != nil {
			return nil, err
		}
		if ok && ep.Owner == acct {
			eps = append(eps, &ep)
		}
	}
	slices.SortFunc(eps, func(a, b *model.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return eps, nil
}

// EndpointConnections lists the connections to the account's services: the
// endpoints of any account that connect to them.
func (c *PrivateLink) EndpointConnections(ctx context.Context, acct string) ([]EndpointDetail, error) {
	return c.DescribeConnections(ctx, acct, nil)
}

// DescribeConnections describes the connections to the account's services that
// pick chooses (all of them when pick is nil), as DescribeEndpoints does.
func (c *PrivateLink) DescribeConnections(ctx context.Context, acct string, pick EndpointPicker) ([]EndpointDetail, error) {
	ctx = c.WithCache(ctx)
	svcs, err := core.ScanWhere(ctx, c.Base, model.KindService, func(s *model.EndpointService) bool { return s.Owner == acct })
	if err != nil {
		return nil, err
	}
	owned := make(map[string]bool, len(svcs))
	for _, s := range svcs {
		owned[s.ID] = true
	}
	var eps []*model.Endpoint
	if len(owned) > 0 {
		eps, err = core.ScanWhere(ctx, c.Base, model.KindEndpoint, func(ep *model.Endpoint) bool { return owned[ep.ServiceID] })
		if err != nil {
			return nil, err
		}
	}
	return c.pickedDetails(ctx, eps, pick)
}

// EndpointDetail describes one endpoint record, as DescribeEndpoints would: for
// an endpoint just written, without listing any.
func (c *PrivateLink) EndpointDetail(ctx context.Context, ep model.Endpoint) (EndpointDetail, error) {
	ds, err := c.endpointDetails(ctx, []*model.Endpoint{&ep})
	if err != nil {
		return EndpointDetail{}, err
	}
	return ds[0], nil
}

// pickedDetails describes the endpoints pick chooses among eps (all when nil).
func (c *PrivateLink) pickedDetails(ctx context.Context, eps []*model.Endpoint, pick EndpointPicker) ([]EndpointDetail, error) {
	if pick != nil {
		var err error
		if eps, err = pick(eps); err != nil {
			return nil, err
		}
	}
	return c.endpointDetails(ctx, eps)
}

// endpointDetails adds to each endpoint its DNS entries, its groups' names and
// its service's load balancers, reading each service and group it names once
// (from the read cache ctx carries, else from the store). A service or group
// that is gone leaves the names empty, as a described record without it would.
func (c *PrivateLink) endpointDetails(ctx context.Context, eps []*model.Endpoint) ([]EndpointDetail, error) {
	svcs := map[string]*model.EndpointService{}
	names := map[string]string{}
	out := make([]EndpointDetail, 0, len(eps))
	for _, ep := range eps {
		svc, seen := svcs[ep.ServiceID]
		if !seen {
			s, ok, err := core.Lookup[model.EndpointService](ctx, c.Base, model.KindService, ep.ServiceID)
			if err != nil {
				return nil, err
			}
			if ok {
				svc = &s
			}
			svcs[ep.ServiceID] = svc
		}
		d := EndpointDetail{Endpoint: *ep, GroupNames: make(map[string]string, len(ep.SecurityGroups))}
		verified := ""
		if svc != nil {
			verified = ServiceVerifiedName(*svc)
			d.NLBARNs = svc.NLBARNs
		}
		d.DNSEntries = c.EndpointDNSEntries(*ep, verified)
		for _, g := range ep.SecurityGroups {
			name, seen := names[g]
			if !seen {
				sg, _, err := core.Lookup[model.SecurityGroup](ctx, c.Base, model.KindSecurityGroup, g)
				if err != nil {
					return nil, err
				}
				name = sg.Name
				names[g] = name
			}
			d.GroupNames[g] = name
		}
		out = append(out, d)
	}
	return out, nil
}
