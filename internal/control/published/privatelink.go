package published

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/model"
	"strait/internal/store"
)

// CreatePrivateLink asks for a PrivateLink resource on a published service: the
// reconciler creates its load balancer, the target groups and listeners of the
// components with PrivateLink access and the endpoint service with the allowed
// principals. The resource starts creating and becomes active when the endpoint
// service is available.
func (c *Published) CreatePrivateLink(ctx context.Context, acct, name string, in CreatePrivateLinkInput) (model.PublishedService, error) {
	ps, err := checkPrincipals(in.Principals)
	if err != nil {
		return model.PublishedService{}, err
	}
	if len(ps) == 0 {
		return model.PublishedService{}, model.Missingf("Give at least one allowed principal (--principal arn:aws:iam::ACCOUNT:root, :user/NAME, :role/NAME or *)")
	}
	dnsName, err := endpoints.CheckPrivateDNSName(in.PrivateDNSName)
	if err != nil {
		return model.PublishedService{}, err
	}
	if _, err := c.PublishedService(ctx, acct, name); err != nil {
		return model.PublishedService{}, err
	}
	var out model.PublishedService
	err = c.updatePublished(ctx, acct, name, func(svc *model.PublishedService) error {
		if svc.PrivateLink != nil {
			return model.WithReason(model.ErrDuplicate, model.ReasonPrivateLinkExists, "The service '%s' already has a PrivateLink resource (state %s): change it with `strait privatelink update`, or delete it first",
				name, svc.PrivateLink.State)
		}
		svc.PrivateLink = &model.PrivateLink{
			State: model.PrivateLinkCreating, Principals: ps, AcceptanceRequired: in.AcceptanceRequired,
			PrivateDNSName: dnsName, Created: c.Now().UTC(),
		}
		out = *svc
		return nil
	})
	return out, err
}

// CreatePrivateLinkInput is what a PrivateLink resource is created with.
type CreatePrivateLinkInput struct {
	Principals         []string
	AcceptanceRequired bool
	// PrivateDNSName, when set, becomes the endpoint service's private DNS name;
	// the provider proves it owns it with VerifyPrivateLinkDNS.
	PrivateDNSName string
}

// UpdatePrivateLinkInput changes a PrivateLink resource; nil fields are left alone.
type UpdatePrivateLinkInput struct {
	// Principals REPLACES the allowed principals (empty: nobody else may connect).
	Principals *[]string
	// PrivateDNSName sets the private DNS name ("" removes it).
	PrivateDNSName *string
}

// UpdatePrivateLink changes a service's PrivateLink resource: its allowed
// principals (the whole list is replaced) and its private DNS name.
func (c *Published) UpdatePrivateLink(ctx context.Context, acct, name string, in UpdatePrivateLinkInput) (model.PublishedService, error) {
	if in.Principals == nil && in.PrivateDNSName == nil {
		return model.PublishedService{}, model.Missingf("Nothing to change: give the principals (they replace the whole list) or a private DNS name")
	}
	var ps []string
	if in.Principals != nil {
		var err error
		if ps, err = checkPrincipals(*in.Principals); err != nil {
			return model.PublishedService{}, err
		}
	}
	var dnsName string
	if in.PrivateDNSName != nil {
		var err error
		if dnsName, err = endpoints.CheckPrivateDNSName(*in.PrivateDNSName); err != nil {
			return model.PublishedService{}, err
		}
	}
	var out model.PublishedService
	err := c.updatePublished(ctx, acct, name, func(svc *model.PublishedService) error {
		pl, err := livePrivateLink(*svc)
		if err != nil {
			return err
		}
		if in.Principals != nil {
			pl.Principals = ps
		}
		if in.PrivateDNSName != nil {
			pl.PrivateDNSName = dnsName
		}
		out = *svc
		return nil
	})
	return out, err
}

// VerifyPrivateLinkDNS checks the TXT record that proves the provider owns the
// PrivateLink resource's private DNS name (see StartPrivateDNSVerification) and
// returns the endpoint service with the verification's outcome.
func (c *Published) VerifyPrivateLinkDNS(ctx context.Context, acct, name string) (model.EndpointService, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return model.EndpointService{}, err
	}
	pl, err := livePrivateLink(svc)
	if err != nil {
		return model.EndpointService{}, err
	}
	if pl.PrivateDNSName == "" {
		return model.EndpointService{}, model.WithReason(model.ErrInvalid, model.ReasonParameter, "The PrivateLink resource of '%s' has no private DNS name: set one with `strait privatelink update --private-dns-name NAME %s`", name, name)
	}
	if pl.ServiceID == "" {
		return model.EndpointService{}, model.BadState(model.KindPublished, name,
			"The PrivateLink resource of '%s' is %s: verify its private DNS name once it is active", name, pl.State)
	}
	es, err := c.pl.EndpointService(ctx, acct, pl.ServiceID)
	if err != nil {
		return es, err
	}
	if es.PrivateDNSName != pl.PrivateDNSName {
		return es, model.BadState(model.KindPublished, name,
			"The private DNS name %s is not on the endpoint service yet: try again in a second", pl.PrivateDNSName)
	}
	if err := c.pl.StartPrivateDNSVerification(ctx, acct, pl.ServiceID); err != nil {
		return es, err
	}
	return c.pl.EndpointService(ctx, acct, pl.ServiceID)
}

// DeletePrivateLink asks for a service's PrivateLink resource to be removed with
// everything it created. It refuses while connections are pendingAcceptance,
// pending or available, unless force: then those connections are rejected first.
func (c *Published) DeletePrivateLink(ctx context.Context, acct, name string, force bool) (model.PublishedService, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return svc, err
	}
	if svc.PrivateLink == nil {
		return svc, noPrivateLink(name)
	}
	if svc.PrivateLink.Deleting && (svc.PrivateLink.Force || !force) {
		return svc, nil
	}
	if id := svc.PrivateLink.ServiceID; id != "" {
		live, err := c.liveConnections(ctx, acct, id)
		if err != nil {
			return svc, err
		}
		if len(live) > 0 && !force {
			return svc, model.WithReason(model.ErrInUse, model.ReasonLiveConnections, "The service '%s' has %d live connection(s) (%s): reject them with `strait privatelink reject %s VPCE_ID…`, or delete with --force to reject them and delete",
				name, len(live), strings.Join(live, ", "), name)
		}
		if len(live) > 0 {
			failed, err := c.pl.RejectEndpointConnections(ctx, acct, id, live)
			if err != nil {
				return svc, err
			}
			if len(failed) > 0 {
				return svc, failed[0].Err
			}
		}
	}
	err = c.updatePublished(ctx, acct, name, func(cur *model.PublishedService) error {
		if cur.PrivateLink == nil {
			return noPrivateLink(name)
		}
		cur.PrivateLink.Deleting = true
		cur.PrivateLink.Force = force
		cur.PrivateLink.State = model.PrivateLinkDeleting
		cur.PrivateLink.StateMessage = ""
		svc = *cur
		return nil
	})
	return svc, err
}

// liveConnections lists the endpoints connected to an endpoint service in the
// states pendingAcceptance, pending or available.
func (c *Published) liveConnections(ctx context.Context, acct, serviceID string) ([]string, error) {
	conns, err := c.pl.EndpointConnections(ctx, acct)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range conns {
		if d.ServiceID != serviceID {
			continue
		}
		switch d.State {
		case model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable:
			out = append(out, d.ID)
		}
	}
	return out, nil
}

// PrivateLinkConnection is one consumer endpoint connected to a published
// service's PrivateLink resource.
type PrivateLinkConnection struct {
	EndpointID string
	Owner      string
	State      string
	Created    time.Time
	// DNSName is the endpoint's regional DNS name (its consumers resolve it).
	DNSName string
	// Traffic is what the data plane carried through the endpoint; nil when no
	// data plane has reported (--dataplane=none, or no report yet).
	Traffic *model.EndpointTraffic
}

// PrivateLinkConnections lists the endpoints connected to a published service, in
// creation order.
func (c *Published) PrivateLinkConnections(ctx context.Context, acct, name string) ([]PrivateLinkConnection, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	if svc.PrivateLink == nil {
		return nil, noPrivateLink(name)
	}
	out := []PrivateLinkConnection{}
	if svc.PrivateLink.ServiceID == "" {
		return out, nil
	}
	conns, err := c.pl.EndpointConnections(ctx, acct)
	if err != nil {
		return nil, err
	}
	for _, d := range conns {
		if d.ServiceID != svc.PrivateLink.ServiceID {
			continue
		}
		pc := PrivateLinkConnection{EndpointID: d.ID, Owner: d.Owner, State: d.State, Created: d.Created}
		if len(d.DNSEntries) > 0 {
			pc.DNSName = d.DNSEntries[0].Name
		}
		t, ok, err := c.pl.EndpointTraffic(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			pc.Traffic = &t
		}
		out = append(out, pc)
	}
	slices.SortFunc(out, func(a, b PrivateLinkConnection) int {
		if n := a.Created.Compare(b.Created); n != 0 {
			return n
		}
		return strings.Compare(a.EndpointID, b.EndpointID)
	})
	return out, nil
}

// AcceptPrivateLinkConnections accepts endpoints waiting in pendingAcceptance on a
// published service's PrivateLink resource.
func (c *Published) AcceptPrivateLinkConnections(ctx context.Context, acct, name string, ids []string) ([]core.ItemError, error) {
	id, err := c.privateLinkServiceID(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	return c.pl.AcceptEndpointConnections(ctx, acct, id, ids)
}

// RejectPrivateLinkConnections rejects endpoints connected to a published
// service's PrivateLink resource.
func (c *Published) RejectPrivateLinkConnections(ctx context.Context, acct, name string, ids []string) ([]core.ItemError, error) {
	id, err := c.privateLinkServiceID(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	return c.pl.RejectEndpointConnections(ctx, acct, id, ids)
}

func (c *Published) privateLinkServiceID(ctx context.Context, acct, name string) (string, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return "", err
	}
	if svc.PrivateLink == nil {
		return "", noPrivateLink(name)
	}
	if svc.PrivateLink.ServiceID == "" {
		return "", model.BadState(model.KindPublished, name,
			"The PrivateLink resource of '%s' is %s and has no endpoint service yet: wait until it is active (`strait privatelink get %s state`)",
			name, svc.PrivateLink.State, name)
	}
	return svc.PrivateLink.ServiceID, nil
}

// RecordPrivateLink lets the reconciler record what it created and the state it
// reached: fn changes the PrivateLink resource of the service, which must still be
// the one created at created (a resource deleted and created again meanwhile is
// left alone). Nothing is written when fn changes nothing. It reports whether
// the resource is still there.
func (c *Published) RecordPrivateLink(ctx context.Context, acct, name string, created time.Time, fn func(pl *model.PrivateLink)) (bool, error) {
	cur, err := c.PublishedService(ctx, acct, name)
	if err != nil || cur.PrivateLink == nil || !cur.PrivateLink.Created.Equal(created) {
		return false, nil
	}
	before, _ := json.Marshal(cur.PrivateLink)
	probe := *cur.PrivateLink
	fn(&probe)
	if after, _ := json.Marshal(probe); string(after) == string(before) {
		return true, nil
	}
	found := false
	err = c.updatePublished(ctx, acct, name, func(svc *model.PublishedService) error {
		found = svc.PrivateLink != nil && svc.PrivateLink.Created.Equal(created)
		if found {
			fn(svc.PrivateLink)
		}
		return nil
	})
	return found, err
}

// ClearPrivateLink removes a service's PrivateLink resource once the reconciler has
// deleted everything it created (the resource must be the one created at created).
func (c *Published) ClearPrivateLink(ctx context.Context, acct, name string, created time.Time) error {
	return c.updatePublished(ctx, acct, name, func(svc *model.PublishedService) error {
		if svc.PrivateLink != nil && svc.PrivateLink.Created.Equal(created) {
			svc.PrivateLink = nil
		}
		return nil
	})
}

// updatePublished changes one published service in one transaction.
func (c *Published) updatePublished(ctx context.Context, acct, name string, fn func(*model.PublishedService) error) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		id := publishedID(acct, name)
		svc, err := core.TxGet[model.PublishedService](tx, model.KindPublished, id)
		if err != nil {
			return publishedNotFound(name)
		}
		if err := fn(&svc); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindPublished, id), svc)
	})
}

// livePrivateLink is a service's PrivateLink resource unless it is missing or
// being deleted.
func livePrivateLink(svc model.PublishedService) (*model.PrivateLink, error) {
	if svc.PrivateLink == nil {
		return nil, noPrivateLink(svc.Name)
	}
	if svc.PrivateLink.Deleting {
		return nil, model.BadState(model.KindPublished, svc.Name,
			"The PrivateLink resource of '%s' is being deleted: wait until it is gone, then create it again", svc.Name)
	}
	return svc.PrivateLink, nil
}

func noPrivateLink(name string) *model.Error {
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindPublished, ID: name, Reason: model.ReasonNoPrivateLink,
		Msg: fmt.Sprintf("The service '%s' has no PrivateLink resource: create one with `strait privatelink create --principal ARN %s`", name, name)}
}

// checkPrincipals validates allowed principals as the EC2 API does and removes
// duplicates.
func checkPrincipals(principals []string) ([]string, error) {
	out := []string{}
	for _, p := range core.Dedupe(principals) {
		if _, err := endpoints.PrincipalType(p); err != nil {
			return nil, model.WithReason(model.ErrInvalid, model.ReasonPrincipal, "Invalid principal '%s': use arn:aws:iam::ACCOUNT_ID:root, arn:aws:iam::ACCOUNT_ID:user/NAME, arn:aws:iam::ACCOUNT_ID:role/NAME or *", p)
		}
		out = append(out, p)
	}
	return out, nil
}
