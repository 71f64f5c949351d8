package endpoints

import (
	"context"

	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/model"
	"strait/internal/store"
)

// DeleteEndpointServices deletes endpoint services of the account. A service that
// still has connections in the states pendingAcceptance, pending or available is
// not deleted; its item fails with ExistingVpcEndpointConnections.
func (c *PrivateLink) DeleteEndpointServices(ctx context.Context, acct string, ids []string) ([]core.ItemError, error) {
	return core.EachID(ids, func(id string) error { return c.deleteEndpointService(ctx, acct, id) })
}

func (c *PrivateLink) deleteEndpointService(ctx context.Context, acct, id string) error {
	if _, err := c.EndpointService(ctx, acct, id); err != nil {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		svc, err := core.TxGet[model.EndpointService](tx, model.KindService, id)
		if err != nil {
			return err
		}
		// c.update serializes this process's mutations, so no endpoint can be
		// created between this listing and the commit; CreateVpcEndpoint also
		// rewrites the service record, which makes a concurrent commit by another
		// server conflict with this transaction.
		eps, err := core.List[model.Endpoint](ctx, c.Store(), model.KindEndpoint)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			if ep.ServiceID != id {
				continue
			}
			cur, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, ep.ID)
			if err != nil {
				continue
			}
			switch cur.State {
			case model.EndpointAvailable, model.EndpointPendingAcceptance, model.EndpointPending:
				return model.WithReason(model.ErrInUse, model.ReasonLiveConnections, "Service has existing active VPC Endpoint connections")
			}
		}
		for _, arn := range svc.NLBARNs {
			tx.Delete(elb.LBServiceKey(model.ARNResourceID(arn)))
		}
		nfns, err := core.List[model.ConnectionNotification](ctx, c.Store(), model.KindNotification)
		if err != nil {
			return err
		}
		for _, n := range nfns {
			if n.ServiceID == id {
				tx.Delete(core.Key(model.KindNotification, n.ID))
			}
		}
		tx.Delete(core.Key(model.KindService, id))
		return nil
	})
}
