package network

import (
	"context"
	"fmt"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// InstanceStateChange is what TerminateInstances did to one instance.
type InstanceStateChange struct {
	ID       string
	Previous string
	Current  string
}

// Reason of a user-initiated termination, as EC2 words it.
const (
	reasonUserShutdown        = "Client.UserInitiatedShutdown"
	reasonUserShutdownMessage = "Client.UserInitiatedShutdown: User initiated shutdown"
)

// TerminateInstances shuts down instances of the account: pending and running
// ones go shutting-down, then terminated once the data plane has removed them
// (see Settle), which frees their interfaces. Terminating a shutting-down or
// terminated instance changes nothing and is not an error. Every ID must name an
// instance of the account, or nothing is terminated.
func (c *Network) TerminateInstances(ctx context.Context, acct string, ids []string) ([]InstanceStateChange, error) {
	if len(ids) == 0 {
		return nil, model.Missing("InstanceId")
	}
	ids = core.Dedupe(ids)
	for _, id := range ids {
		if err := model.CheckID(model.KindInstance, model.PrefixInstance, id); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, id := range ids {
		if _, err := c.Instance(ctx, acct, id); core.IsNotFound(err) {
			missing = append(missing, id)
		} else if err != nil {
			return nil, err
		}
	}
	if err := instancesNotFound(missing); err != nil {
		return nil, err
	}
	var out []InstanceStateChange
	err := c.Update(ctx, func(tx *store.Tx) error {
		out = nil
		now := c.Now().UTC()
		for _, id := range ids {
			inst, err := core.TxGet[model.Instance](tx, model.KindInstance, id)
			if err != nil && !core.IsNotFound(err) {
				return err
			}
			if err != nil || inst.Owner != acct {
				return model.NotFound(model.KindInstance, id)
			}
			ch := InstanceStateChange{ID: id, Previous: inst.State, Current: inst.State}
			if inst.Live() {
				inst.State = model.InstanceShuttingDown
				inst.StateReasonCode, inst.StateReasonMessage = reasonUserShutdown, reasonUserShutdownMessage
				inst.StateTransitionReason = fmt.Sprintf("User initiated (%s GMT)", now.Format("2006-01-02 15:04:05"))
				if err := tx.Put(core.Key(model.KindInstance, id), inst); err != nil {
					return err
				}
				ch.Current = inst.State
			}
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// instancesNotFound is EC2's error for instance IDs that do not exist (or are
// another account's); nil when there are none.
func instancesNotFound(ids []string) error {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return model.NotFound(model.KindInstance, ids[0])
	}
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindInstance, ID: ids[0],
		Msg: fmt.Sprintf("The instance IDs '%s' do not exist", strings.Join(ids, ", "))}
}

// MoveInstance applies change to an instance that is still in state from, in one
// transaction; change reports whether to delete the record instead of writing it.
func (c *Network) MoveInstance(ctx context.Context, id, from string, change func(*store.Tx, *model.Instance) (bool, error)) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		inst, err := core.TxGet[model.Instance](tx, model.KindInstance, id)
		if core.IsNotFound(err) || (err == nil && inst.State != from) {
			return nil // gone or changed since the listing; the next pass sees it
		}
		if err != nil {
			return err
		}
		del, err := change(tx, &inst)
		if err != nil {
			return err
		}
		if del {
			tx.Delete(core.Key(model.KindInstance, id))
			return nil
		}
		return tx.Put(core.Key(model.KindInstance, id), inst)
	})
}
