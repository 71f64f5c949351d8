package control

import (
	"context"

	"strait/internal/model"
	"strait/internal/store"
)

// DeleteEndpointServices deletes endpoint services of the account. A service that
// still has connections in the states pendingAcceptance, pending or available is
// not deleted; its item fails with ExistingVpcEndpointConnections.
func (c *Control) DeleteEndpointServices(ctx context.Context, acct string, ids []string) ([]ItemError, error) {
	return eachID(ids, func(id string) error { return c.deleteEndpointService(ctx, acct, id) })
}

func (c *Control) deleteEndpointService(ctx context.Context, acct, id string) error {
	if _, err := c.EndpointService(ctx, acct, id); err != nil {
		return err
	}
	return c.update(ctx, func(tx *store.Tx) error {
		svc, err := txGet[model.EndpointService](tx, model.KindService, id)
		if err != nil {
			return err
		}
		// c.update serializes this process's mutations, so no endpoint can be
		// created between this listing and the commit; CreateVpcEndpoint also
		// rewrites the service record, which makes a concurrent commit by another
		// server conflict with this transaction.
		eps, err := list[model.Endpoint](ctx, c.st, model.KindEndpoint)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			if ep.ServiceID != id {
				continue
			}
			cur, err := txGet[model.Endpoint](tx, model.KindEndpoint, ep.ID)
			if err != nil {
				continue
			}
			switch cur.State {
			case model.EndpointAvailable, model.EndpointPendingAcceptance, model.EndpointPending:
				return model.Coded(model.ErrInUse, "ExistingVpcEndpointConnections", "Service has existing active VPC Endpoint connections")
			}
		}
		for _, arn := range svc.NLBARNs {
			tx.Delete(lbServiceKey(model.ARNResourceID(arn)))
		}
		nfns, err := list[model.ConnectionNotification](ctx, c.st, model.KindNotification)
		if err != nil {
			return err
		}
		for _, n := range nfns {
			if n.ServiceID == id {
				tx.Delete(key(model.KindNotification, n.ID))
			}
		}
		tx.Delete(key(model.KindService, id))
		return nil
	})
}
