package control

import (
	"context"
	"errors"

	"strait/internal/model"
	"strait/internal/store"
)

// Settle moves every resource whose realization is complete to its final state:
// load balancers provisioning → active, endpoint services Pending → Available,
// endpoints pending → available, and endpoints deleting → gone (their ENIs freed).
// Without a data plane, realization is the record itself, so this happens on the
// first pass.
func (c *Control) Settle(ctx context.Context) error {
	lbs, err := list[model.LoadBalancer](ctx, c.st, model.KindLoadBalancer)
	if err != nil {
		return err
	}
	for _, lb := range lbs {
		if lb.State == model.LBStateProvisioning {
			// A load balancer deleted since the list is simply gone.
			if err := c.setLBState(ctx, lb.ARN, model.LBStateActive); err != nil && !errors.Is(err, model.ErrNotFound) {
				return err
			}
		}
	}
	return c.settlePrivateLink(ctx)
}

func (c *Control) setLBState(ctx context.Context, arn, state string) error {
	id := model.ARNResourceID(arn)
	return c.update(ctx, func(tx *store.Tx) error {
		lb, err := txGet[model.LoadBalancer](tx, model.KindLoadBalancer, id)
		if err != nil {
			return err
		}
		lb.State = state
		return tx.Put(key(model.KindLoadBalancer, id), lb)
	})
}
