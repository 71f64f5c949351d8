package endpoints

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateServiceInput is what CreateEndpointService needs.
type CreateServiceInput struct {
	NLBARNs  []string
	GWLBARNs []string
	// AcceptanceRequired defaults to true, as in AWS, when nil.
	AcceptanceRequired      *bool
	PrivateDNSName          string
	SupportedIPAddressTypes []string
	SupportedRegions        []string
	Tags                    model.Tags
	ClientToken             string
}

// ServiceBaseDNSName is the base DNS name of an endpoint service:
// <vpce-svc-id>.<region>.vpce.<domain>.
func (c *PrivateLink) ServiceBaseDNSName(svc model.EndpointService) string {
	return fmt.Sprintf("%s.%s.vpce.%s", svc.ID, c.Region(), c.Domain())
}

// ServiceVerifiedName is the service's private DNS name when its verification
// succeeded, else "".
func ServiceVerifiedName(svc model.EndpointService) string {
	if svc.PrivateDNSName != "" && svc.DNSVerification != nil && svc.DNSVerification.State == model.DNSVerified {
		return svc.PrivateDNSName
	}
	return ""
}

// ZoneIDs maps zone names to zone IDs (use1-az1 …).
func (c *PrivateLink) ZoneIDs(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if z, ok := c.Zone(n); ok {
			out = append(out, z.ZoneID)
		}
	}
	return out
}

// CreateEndpointService publishes network load balancers of the caller as an
// endpoint service. It starts Pending and becomes Available once all its load
// balancers are active (see Settle).
func (c *PrivateLink) CreateEndpointService(ctx context.Context, acct string, in CreateServiceInput) (model.EndpointService, error) {
	tok, prev, found, err := core.Idempotent[model.EndpointService](ctx, c.Base, acct, model.KindService, in.ClientToken, in)
	if err != nil || found {
		return prev, err
	}
	if len(in.GWLBARNs) > 0 {
		return model.EndpointService{}, invalidParameter("Gateway Load Balancer endpoint services are not supported: Strait serves interface endpoint services backed by network load balancers")
	}
	arns := core.Dedupe(in.NLBARNs)
	if len(arns) == 0 {
		return model.EndpointService{}, invalidParameter("At least one network load balancer ARN must be specified (NetworkLoadBalancerArns)")
	}
	lbs, err := c.serviceLoadBalancers(ctx, acct, arns)
	if err != nil {
		return model.EndpointService{}, err
	}
	ipTypes, err := checkIPAddressTypes(core.Dedupe(in.SupportedIPAddressTypes))
	if err != nil {
		return model.EndpointService{}, err
	}
	for _, r := range in.SupportedRegions {
		if r != c.Region() {
			return model.EndpointService{}, invalidParameter("Region %s is not supported: this server serves %s only", r, c.Region())
		}
	}
	dnsName, err := CheckPrivateDNSName(in.PrivateDNSName)
	if err != nil {
		return model.EndpointService{}, err
	}
	accept := true
	if in.AcceptanceRequired != nil {
		accept = *in.AcceptanceRequired
	}
	id := model.NewID(model.PrefixService)
	svc := model.EndpointService{
		ID: id, Name: fmt.Sprintf("com.amazonaws.vpce.%s.%s", c.Region(), id), Owner: acct,
		State: model.ServicePending, AcceptanceRequired: accept, NLBARNs: arns, AZs: NodeZones(lbs),
		PayerResponsibility: "ServiceOwner", Tags: in.Tags, Created: c.Now().UTC(),
		SupportedIPAddressTypes: ipTypes,
	}
	if dnsName != "" {
		svc.PrivateDNSName = dnsName
		svc.DNSVerification = c.newDNSVerify()
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		if found, err := core.TxPrevious(tx, tok, &svc); err != nil || found {
			return err
		}
		for _, arn := range arns {
			lbID := model.ARNResourceID(arn)
			if !tx.Exists(core.Key(model.KindLoadBalancer, lbID)) {
				return lbNotFound(arn)
			}
			var other string
			if ok, err := tx.Get(elb.LBServiceKey(lbID), &other); err != nil {
				return err
			} else if ok {
				return invalidParameter("The load balancer %s is already associated with the VPC endpoint service %s", arn, other)
			}
			if err := tx.Put(elb.LBServiceKey(lbID), svc.ID); err != nil {
				return err
			}
		}
		if err := tok.Record(tx, svc.ID); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindService, svc.ID), svc)
	})
	return svc, err
}

// serviceLoadBalancers checks that every ARN names a network load balancer of
// the caller and returns them.
func (c *PrivateLink) serviceLoadBalancers(ctx context.Context, acct string, arns []string) ([]model.LoadBalancer, error) {
	var out []model.LoadBalancer
	for _, arn := range arns {
		id := model.ARNResourceID(arn)
		if id == "" {
			return nil, invalidParameter("The load balancer ARN '%s' is malformed", arn)
		}
		lb, err := core.Get[model.LoadBalancer](ctx, c.Store(), model.KindLoadBalancer, id)
		if err != nil || lb.Owner != acct || lb.ARN != arn {
			if err != nil && !core.IsNotFound(err) {
				return nil, err
			}
			return nil, lbNotFound(arn)
		}
		if lb.Type != "network" {
			return nil, invalidParameter("The load balancer %s is of type %s; an endpoint service needs network load balancers", arn, lb.Type)
		}
		out = append(out, lb)
	}
	return out, nil
}

func lbNotFound(arn string) *model.Error {
	return invalidParameter("The load balancer %s does not exist or is not owned by this account", arn)
}

// NodeZones is the sorted set of zones the load balancers have nodes in.
func NodeZones(lbs []model.LoadBalancer) []string {
	var zones []string
	for _, lb := range lbs {
		for _, n := range lb.Nodes {
			if !slices.Contains(zones, n.AZ) {
				zones = append(zones, n.AZ)
			}
		}
	}
	slices.Sort(zones)
	return zones
}

func checkIPAddressTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return []string{"ipv4"}, nil
	}
	for _, t := range types {
		if t != "ipv4" {
			return nil, invalidParameter("Supported IP address type '%s' is not supported: Strait endpoint services serve ipv4 only", t)
		}
	}
	return types, nil
}

// CheckPrivateDNSName validates and lower-cases a private DNS name; a leading "*."
// label (a wildcard name) is allowed.
func CheckPrivateDNSName(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	labels := strings.Split(strings.TrimPrefix(n, "*."), ".")
	ok := len(n) <= 255 && len(labels) >= 2
	for _, l := range labels {
		ok = ok && ValidLabel(l)
	}
	if !ok || labels[len(labels)-1][0] >= '0' && labels[len(labels)-1][0] <= '9' {
		return "", invalidParameter("Private DNS name '%s' is not a valid domain name", name)
	}
	return n, nil
}

func ValidLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// newDNSVerify returns a fresh TXT challenge: a record named _<20 lowercase
// alphanumerics> whose value is vpce:<20 alphanumerics>.
func (c *PrivateLink) newDNSVerify() *model.DNSVerify {
	return &model.DNSVerify{
		State: model.DNSPendingVerification, Type: "TXT",
		Name:  "_" + core.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 20),
		Value: "vpce:" + core.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 20),
		Since: c.Now().UTC(),
	}
}

// EndpointService returns one of the account's endpoint services.
func (c *PrivateLink) EndpointService(ctx context.Context, acct, id string) (model.EndpointService, error) {
	return core.GetOwned(ctx, c.Store(), acct, model.KindService, model.PrefixService, id, func(svc model.EndpointService) string { return svc.Owner })
}

// EndpointServices lists the account's own endpoint services.
func (c *PrivateLink) EndpointServices(ctx context.Context, acct string) ([]model.EndpointService, error) {
	all, err := core.List[model.EndpointService](ctx, c.Store(), model.KindService)
	return core.FilterOwner(all, acct, func(s model.EndpointService) string { return s.Owner }), err
}

// VisibleServices lists the endpoint services an account may connect to: its own
// and those whose allowed principals admit it.
func (c *PrivateLink) VisibleServices(ctx context.Context, acct string) ([]model.EndpointService, error) {
	all, err := core.List[model.EndpointService](ctx, c.Store(), model.KindService)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, s := range all {
		if ServiceAdmits(s, acct) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ServiceByName returns the endpoint service with the given name if the account
// may see it; otherwise the error is InvalidServiceName, whether the service does
// not exist or does not admit the account (AWS does not tell them apart).
func (c *PrivateLink) ServiceByName(ctx context.Context, acct, name string) (model.EndpointService, error) {
	all, err := c.VisibleServices(ctx, acct)
	if err != nil {
		return model.EndpointService{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return model.EndpointService{}, invalidServiceName(name)
}

func invalidServiceName(name string) *model.Error {
	return model.WithReason(model.ErrNotFound, model.ReasonServiceName, "The Vpc Endpoint Service '%s' does not exist", name)
}

// invalidParameter is EC2's InvalidParameter error.
func invalidParameter(format string, args ...any) *model.Error {
	return model.WithReason(model.ErrInvalid, model.ReasonParameter, format, args...)
}
