package endpoints

import (
	"context"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/model"
	"strait/internal/store"
)

// ModifyServiceInput changes an endpoint service; nil and empty fields are left alone.
type ModifyServiceInput struct {
	AcceptanceRequired      *bool
	PrivateDNSName          string
	RemovePrivateDNSName    bool
	AddNLBARNs              []string
	RemoveNLBARNs           []string
	AddGWLBARNs             []string
	RemoveGWLBARNs          []string
	AddIPAddressTypes       []string
	RemoveIPAddressTypes    []string
	AddRegions              []string
	RemoveRegions           []string
	RejectRemovedPrincipals *bool
}

// ModifyEndpointService changes an endpoint service's acceptance, private DNS name,
// load balancers and IP address types.
func (c *PrivateLink) ModifyEndpointService(ctx context.Context, acct, id string, in ModifyServiceInput) error {
	if _, err := c.EndpointService(ctx, acct, id); err != nil {
		return err
	}
	if len(in.AddGWLBARNs)+len(in.RemoveGWLBARNs) > 0 {
		return invalidParameter("Gateway Load Balancer endpoint services are not supported: Strait serves interface endpoint services backed by network load balancers")
	}
	if len(in.AddRegions)+len(in.RemoveRegions) > 0 {
		return invalidParameter("Cross-region access is not supported: this server serves %s only", c.Region())
	}
	if in.PrivateDNSName != "" && in.RemovePrivateDNSName {
		return model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "PrivateDnsName and RemovePrivateDnsName cannot be given together")
	}
	dnsName, err := CheckPrivateDNSName(in.PrivateDNSName)
	if err != nil {
		return err
	}
	if _, err := checkIPAddressTypes(in.AddIPAddressTypes); err != nil {
		return err
	}
	added, err := c.serviceLoadBalancers(ctx, acct, core.Dedupe(in.AddNLBARNs))
	if err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		svc, err := core.TxGet[model.EndpointService](tx, model.KindService, id)
		if err != nil {
			return err
		}
		if in.AcceptanceRequired != nil {
			svc.AcceptanceRequired = *in.AcceptanceRequired
		}
		if in.RejectRemovedPrincipals != nil {
			svc.RejectRemovedPrincipals = *in.RejectRemovedPrincipals
		}
		switch {
		case in.RemovePrivateDNSName:
			svc.PrivateDNSName, svc.DNSVerification = "", nil
		case dnsName != "" && dnsName != svc.PrivateDNSName:
			svc.PrivateDNSName, svc.DNSVerification = dnsName, c.newDNSVerify()
		}
		if err := modifyServiceLBs(tx, &svc, added, core.Dedupe(in.RemoveNLBARNs)); err != nil {
			return err
		}
		for _, t := range in.AddIPAddressTypes {
			if !slices.Contains(svc.SupportedIPAddressTypes, t) {
				svc.SupportedIPAddressTypes = append(svc.SupportedIPAddressTypes, t)
			}
		}
		for _, t := range in.RemoveIPAddressTypes {
			if !slices.Contains(svc.SupportedIPAddressTypes, t) {
				return invalidParameter("Supported IP address type '%s' is not configured on %s", t, id)
			}
			svc.SupportedIPAddressTypes = slices.DeleteFunc(svc.SupportedIPAddressTypes, func(s string) bool { return s == t })
		}
		if len(svc.SupportedIPAddressTypes) == 0 {
			return invalidParameter("An endpoint service must support at least one IP address type")
		}
		return tx.Put(core.Key(model.KindService, id), svc)
	})
}

// modifyServiceLBs adds and removes load balancers of a service inside tx, keeping
// the one-service-per-load-balancer index. A service with a new load balancer
// goes back to Pending until it is active.
func modifyServiceLBs(tx *store.Tx, svc *model.EndpointService, added []model.LoadBalancer, removed []string) error {
	for _, arn := range removed {
		if !slices.Contains(svc.NLBARNs, arn) {
			return invalidParameter("The load balancer %s is not associated with the VPC endpoint service %s", arn, svc.ID)
		}
		svc.NLBARNs = slices.DeleteFunc(svc.NLBARNs, func(s string) bool { return s == arn })
		tx.Delete(elb.LBServiceKey(model.ARNResourceID(arn)))
	}
	for _, lb := range added {
		if slices.Contains(svc.NLBARNs, lb.ARN) {
			continue
		}
		lbID := model.ARNResourceID(lb.ARN)
		var other string
		if ok, err := tx.Get(elb.LBServiceKey(lbID), &other); err != nil {
			return err
		} else if ok {
			return invalidParameter("The load balancer %s is already associated with the VPC endpoint service %s", lb.ARN, other)
		}
		if err := tx.Put(elb.LBServiceKey(lbID), svc.ID); err != nil {
			return err
		}
		svc.NLBARNs = append(svc.NLBARNs, lb.ARN)
		if lb.State != model.LBStateActive && svc.State == model.ServiceAvailable {
			svc.State = model.ServicePending
		}
	}
	if len(svc.NLBARNs) == 0 {
		return invalidParameter("An endpoint service needs at least one network load balancer; the last one cannot be removed")
	}
	var lbs []model.LoadBalancer
	for _, arn := range svc.NLBARNs {
		lb, err := core.TxGet[model.LoadBalancer](tx, model.KindLoadBalancer, model.ARNResourceID(arn))
		if err != nil {
			continue
		}
		lbs = append(lbs, lb)
	}
	svc.AZs = NodeZones(lbs)
	return nil
}
