package status

import (
	"context"
	"errors"
	"slices"

	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// settlePrivateLink settles endpoint services and endpoints (see Settle): a
// service goes Pending → Available once every load balancer it publishes is
// active (and follows their zones); an endpoint goes pending → available once its
// service is Available; a deleting endpoint disappears with its interfaces and
// notifications; an endpoint with private DNS follows its service's verified name
// (holding it in its VPC when no other endpoint there does). Each pass reads every service, endpoint and load balancer once,
// writes only what changes and re-checks each record inside its transaction, so it
// is idempotent and safe to run concurrently with the API.
func (c *Status) settlePrivateLink(ctx context.Context, r Realized) error {
	rctx := c.WithCache(ctx)
	lbs, err := core.Scan[model.LoadBalancer](rctx, c.Base, model.KindLoadBalancer)
	if err != nil {
		return err
	}
	byARN := map[string]model.LoadBalancer{}
	for _, lb := range lbs {
		byARN[lb.ARN] = lb
	}
	svcs, err := core.Scan[model.EndpointService](rctx, c.Base, model.KindService)
	if err != nil {
		return err
	}
	available := map[string]bool{}
	verified := map[string]string{}
	for _, svc := range svcs {
		verified[svc.ID] = endpoints.ServiceVerifiedName(svc)
		state, azs := realizedService(svc, byARN)
		if state != svc.State || !slices.Equal(azs, svc.AZs) {
			if err := c.settleService(ctx, svc, state, azs); err != nil {
				return err
			}
		}
		available[svc.ID] = state == model.ServiceAvailable
	}
	eps, err := core.Scan[model.Endpoint](rctx, c.Base, model.KindEndpoint)
	if err != nil {
		return err
	}
	var ready, removed []string
	for _, ep := range eps {
		if c.endpointDNSStale(ctx, ep, verified[ep.ServiceID]) {
			if err := c.settleEndpointDNS(ctx, ep.ID); err != nil {
				return err
			}
		}
		switch {
		case ep.State == model.EndpointPending && available[ep.ServiceID] && r.Ready(ep.ID):
			ready = append(ready, ep.ID)
		case ep.State == model.EndpointDeleting && r.Removed(ep.ID):
			removed = append(removed, ep.ID)
		}
	}
	if err := inBatches(ready, func(ids []string) error { return c.settleEndpointsAvailable(ctx, ids) }); err != nil {
		return err
	}
	if len(removed) == 0 {
		return nil
	}
	nfns, err := core.List[model.ConnectionNotification](ctx, c.Store(), model.KindNotification)
	if err != nil {
		return err
	}
	return inBatches(removed, func(ids []string) error { return c.settleEndpointsDeleted(ctx, ids, nfns) })
}

// settleBatch is how many endpoints one settling transaction moves at most: many
// endpoints realized in one pass (a burst of creations) cost a few transactions,
// not one each.
const settleBatch = 64

// inBatches calls settle with ids in chunks of settleBatch. A chunk that the
// etcd server refuses as too many operations for one transaction (an external
// server's --max-txn-ops is 128 by default; removing an endpoint takes about
// four) is split in halves until each part fits.
func inBatches(ids []string, settle func(ids []string) error) error {
	for chunk := range slices.Chunk(ids, settleBatch) {
		if err := settleSplitting(chunk, settle); err != nil {
			return err
		}
	}
	return nil
}

func settleSplitting(ids []string, settle func(ids []string) error) error {
	err := settle(ids)
	if len(ids) < 2 || !errors.Is(err, store.ErrTooManyOps) {
		return err
	}
	half := len(ids) / 2
	if err := settleSplitting(ids[:half], settle); err != nil {
		return err
	}
	return settleSplitting(ids[half:], settle)
}

// realizedService is the state and zones a service should have given its load
// balancers: Available when they all exist and are active, else its current state
// (Pending stays Pending). Zones follow the load balancers' nodes once all exist.
func realizedService(svc model.EndpointService, byARN map[string]model.LoadBalancer) (string, []string) {
	if svc.State != model.ServicePending && svc.State != model.ServiceAvailable {
		return svc.State, svc.AZs
	}
	var lbs []model.LoadBalancer
	active := true
	for _, arn := range svc.NLBARNs {
		lb, ok := byARN[arn]
		if !ok {
			return svc.State, svc.AZs
		}
		lbs = append(lbs, lb)
		active = active && lb.State == model.LBStateActive
	}
	state := svc.State
	if active && len(lbs) > 0 {
		state = model.ServiceAvailable
	}
	return state, endpoints.NodeZones(lbs)
}

func (c *Status) settleService(ctx context.Context, seen model.EndpointService, state string, azs []string) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		svc, err := core.TxGet[model.EndpointService](tx, model.KindService, seen.ID)
		if err != nil || svc.State != seen.State || !slices.Equal(svc.NLBARNs, seen.NLBARNs) {
			return nil // gone or changed since the listing; the next pass sees it
		}
		svc.State, svc.AZs = state, azs
		return tx.Put(core.Key(model.KindService, svc.ID), svc)
	})
}

// settleEndpointsAvailable makes pending endpoints available, in one
// transaction; each is re-checked in it (still pending, its service available).
func (c *Status) settleEndpointsAvailable(ctx context.Context, ids []string) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
			if err != nil || ep.State != model.EndpointPending {
				continue
			}
			svc, err := core.TxGet[model.EndpointService](tx, model.KindService, ep.ServiceID)
			if err != nil || svc.State != model.ServiceAvailable {
				continue
			}
			ep.State = model.EndpointAvailable
			if err := tx.Put(core.Key(model.KindEndpoint, id), ep); err != nil {
				return err
			}
		}
		return nil
	})
}

// settleEndpointsDeleted removes deleting endpoints, with their interfaces,
// in one transaction; each is re-checked in it (still deleting).
func (c *Status) settleEndpointsDeleted(ctx context.Context, ids []string, nfns []model.ConnectionNotification) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if err := settleEndpointDeleted(tx, id, nfns); err != nil {
				return err
			}
		}
		return nil
	})
}

// settleEndpointDeleted removes one deleting endpoint inside tx (see settleEndpointsDeleted).
func settleEndpointDeleted(tx *store.Tx, id string, nfns []model.ConnectionNotification) error {
	ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
	if err != nil || ep.State != model.EndpointDeleting {
		return nil
	}
	for _, eni := range ep.ENIs {
		if err := network.DeleteENI(tx, eni); err != nil {
			return err
		}
	}
	endpoints.ReleasePrivateDNSName(tx, &ep)
	for _, n := range nfns {
		if n.EndpointID == id {
			tx.Delete(core.Key(model.KindNotification, n.ID))
		}
	}
	tx.Delete(core.Key(model.KindEndpointTraffic, id))
	tx.Delete(core.Key(model.KindEndpoint, id))
	return nil
}

// endpointDNSStale reports whether an endpoint with private DNS does not hold its
// service's verified name and could change that: a name held by another endpoint
// of the VPC is not worth a transaction (nor the settle pass it would trigger).
func (c *Status) endpointDNSStale(ctx context.Context, ep model.Endpoint, name string) bool {
	if !ep.PrivateDNSEnabled || ep.State == model.EndpointDeleting || ep.PrivateDNSName == name {
		return false
	}
	if ep.PrivateDNSName != "" || name == "" {
		return true
	}
	var holder string
	err := c.Store().Get(ctx, endpoints.PrivateDNSKey(ep.VpcID, name), &holder)
	return err != nil || holder == ep.ID
}

// settleEndpointDNS makes an endpoint with private DNS hold its service's current
// verified name: it gives up a name the service no longer has and claims the new
// one unless another endpoint of its VPC holds it (then it holds none, and tries
// again on later passes).
func (c *Status) settleEndpointDNS(ctx context.Context, id string) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
		if err != nil || !ep.PrivateDNSEnabled || ep.State == model.EndpointDeleting {
			return nil
		}
		name := ""
		if svc, err := core.TxGet[model.EndpointService](tx, model.KindService, ep.ServiceID); err == nil {
			name = endpoints.ServiceVerifiedName(svc)
		}
		if name == ep.PrivateDNSName {
			return nil
		}
		old := ep.PrivateDNSName
		endpoints.ReleasePrivateDNSName(tx, &ep)
		if err := endpoints.HoldPrivateDNSName(tx, &ep, name); err != nil {
			if !errors.Is(err, model.ErrConflict) {
				return err
			}
			if old == "" {
				return nil // still taken by another endpoint: nothing changes
			}
			ep.PrivateDNSName = ""
		}
		return tx.Put(core.Key(model.KindEndpoint, id), ep)
	})
}
