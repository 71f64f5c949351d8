package status

import (
	"context"
	"errors"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Settle moves every resource whose realization is complete to its final state:
// load balancers provisioning → active (once their nodes are up), endpoint services
// Pending → Available, endpoints pending → available (once their listeners are open)
// and endpoints deleting → gone (once the host holds nothing of them; their ENIs are
// freed), instances pending → running and shutting-down → terminated, and draining
// targets out of their groups once the delay is over. Without a data plane
// (NoDataplane), realization is the record itself, so this happens on the first pass.
//
// With the read cache (StartCache), each step reads from it, synced first.
func (c *Status) Settle(ctx context.Context, r Realized) error {
	lbs, err := core.Scan[model.LoadBalancer](c.WithCache(ctx), c.Base, model.KindLoadBalancer)
	if err != nil {
		return err
	}
	for _, lb := range lbs {
		if lb.State == model.LBStateProvisioning && r.Ready(lb.ARN) {
			// A load balancer deleted since the list is simply gone.
			if err := c.setLBState(ctx, lb.ARN, model.LBStateActive); err != nil && !errors.Is(err, model.ErrNotFound) {
				return err
			}
		}
	}
	if err := c.settleInstances(ctx, r); err != nil {
		return err
	}
	if err := c.settleDraining(ctx); err != nil {
		return err
	}
	return c.settlePrivateLink(ctx, r)
}

func (c *Status) setLBState(ctx context.Context, arn, state string) error {
	id := model.ARNResourceID(arn)
	return c.Update(ctx, func(tx *store.Tx) error {
		lb, err := core.TxGet[model.LoadBalancer](tx, model.KindLoadBalancer, id)
		if err != nil {
			return err
		}
		lb.State = state
		return tx.Put(core.Key(model.KindLoadBalancer, id), lb)
	})
}
