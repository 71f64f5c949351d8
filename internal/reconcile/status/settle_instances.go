package status

import (
	"context"
	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
	"strait/internal/store"
)

// settleInstances moves instances along (see Settle): pending → running once the
// data plane has wired them, shutting-down → terminated once it has removed them
// (their interfaces and addresses are freed then), and deletes the records of
// instances terminated more than TerminatedInstanceRetention ago. Each change
// re-reads its instance in its own transaction and writes only when the state
// is still the one seen, so a pass is idempotent.
func (c *Status) settleInstances(ctx context.Context, r Realized) error {
	insts, err := core.Scan[model.Instance](c.WithCache(ctx), c.Base, model.KindInstance)
	if err != nil {
		return err
	}
	now := c.Now()
	for _, inst := range insts {
		var err error
		switch {
		case inst.State == model.InstancePending && r.Ready(inst.ID):
			err = c.MoveInstance(ctx, inst.ID, model.InstancePending, func(_ *store.Tx, i *model.Instance) (bool, error) {
				i.State, i.StateReasonCode, i.StateReasonMessage = model.InstanceRunning, "", ""
				return false, nil
			})
		case inst.State == model.InstanceShuttingDown && r.Removed(inst.ID):
			err = c.MoveInstance(ctx, inst.ID, model.InstanceShuttingDown, func(tx *store.Tx, i *model.Instance) (bool, error) {
				i.State, i.TerminatedAt = model.InstanceTerminated, c.Now().UTC()
				return false, network.DeleteENI(tx, i.ENIID)
			})
		case inst.State == model.InstanceTerminated && now.Sub(inst.TerminatedAt) >= model.TerminatedInstanceRetention:
			err = c.MoveInstance(ctx, inst.ID, model.InstanceTerminated, func(*store.Tx, *model.Instance) (bool, error) {
				return true, nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
