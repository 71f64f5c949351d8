package endpoints

import (
	"context"
	"fmt"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// AcceptEndpointConnections accepts endpoints waiting in pendingAcceptance on one
// of the account's services: each goes to pending, then available (see Settle).
func (c *PrivateLink) AcceptEndpointConnections(ctx context.Context, acct, svcID string, ids []string) ([]core.ItemError, error) {
	return c.decideConnections(ctx, acct, svcID, ids, model.EventAccept, func(ep *model.Endpoint) error {
		if ep.State != model.EndpointPendingAcceptance {
			return model.BadState(model.KindEndpoint, ep.ID,
				"The VPC endpoint %s is in state %s; only pendingAcceptance endpoints can be accepted", ep.ID, ep.State)
		}
		ep.State = model.EndpointPending
		ep.StateMessage = ""
		ep.Accepted = c.Now().UTC()
		return nil
	})
}

// RejectEndpointConnections rejects endpoints (pendingAcceptance, pending or
// available) connected to one of the account's services. Their interfaces stay
// until the consumer deletes them; no traffic flows. Rejecting a rejected endpoint
// is a no-op.
func (c *PrivateLink) RejectEndpointConnections(ctx context.Context, acct, svcID string, ids []string) ([]core.ItemError, error) {
	return c.decideConnections(ctx, acct, svcID, ids, model.EventReject, func(ep *model.Endpoint) error {
		switch ep.State {
		case model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable, model.EndpointRejected:
			ep.State = model.EndpointRejected
			ep.StateMessage = "rejected by the service owner"
			return nil
		}
		return model.BadState(model.KindEndpoint, ep.ID,
			"The VPC endpoint %s is in state %s and cannot be rejected", ep.ID, ep.State)
	})
}

// decideConnections applies decide to each endpoint of ids that connects to the
// service, one transaction per endpoint, recording the connection event (for
// connection notifications) when decide changes the endpoint's state; the others
// fail with InvalidVpcEndpointId.NotFound, or InvalidVpcEndpointId.Malformed when
// the ID is not vpce-<hex>.
func (c *PrivateLink) decideConnections(ctx context.Context, acct, svcID string, ids []string, event string, decide func(*model.Endpoint) error) ([]core.ItemError, error) {
	if _, err := c.EndpointService(ctx, acct, svcID); err != nil {
		return nil, err
	}
	return core.EachID(ids, func(id string) error {
		if !model.ValidID(model.PrefixEndpoint, id) {
			return &model.Error{Err: model.ErrInvalid, Kind: model.KindEndpoint, ID: id, Reason: model.ReasonMalformedEndpointID,
				Msg: fmt.Sprintf("Invalid Id: '%s'", id)}
		}
		return c.Update(ctx, func(tx *store.Tx) error {
			ep, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, id)
			if err != nil || ep.ServiceID != svcID {
				return &model.Error{Err: model.ErrNotFound, Kind: model.KindEndpoint, ID: id, Reason: model.ReasonEndpointNotFound,
					Msg: fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist for service %s", id, svcID)}
			}
			before := ep.State
			if err := decide(&ep); err != nil {
				return err
			}
			if ep.State != before {
				if err := c.recordConnectionEvent(ctx, tx, ep, event); err != nil {
					return err
				}
			}
			return tx.Put(core.Key(model.KindEndpoint, id), ep)
		})
	})
}
