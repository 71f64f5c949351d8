package status

import (
	"context"
	"slices"
	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/model"
	"strait/internal/store"
)

// settleDraining removes the draining targets whose deregistration delay is over,
// and those of groups that no listener uses any more (nothing can be draining
// there), with their health records (see Settle).
func (c *Status) settleDraining(ctx context.Context) error {
	tgs, err := core.Scan[model.TargetGroup](c.WithCache(ctx), c.Base, model.KindTargetGroup)
	if err != nil {
		return err
	}
	now := c.Now()
	for _, tg := range tgs {
		if !slices.ContainsFunc(tg.Targets, func(t model.Target) bool { return elb.Drained(tg, t, now) }) {
			continue
		}
		err := c.Update(ctx, func(tx *store.Tx) error {
			id := model.ARNResourceID(tg.ARN)
			cur, err := core.TxGet[model.TargetGroup](tx, model.KindTargetGroup, id)
			if core.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			kept := slices.DeleteFunc(slices.Clone(cur.Targets), func(t model.Target) bool { return elb.Drained(cur, t, now) })
			if len(kept) == len(cur.Targets) {
				return nil
			}
			elb.DropTargetHealth(tx, cur, kept)
			if cur.Targets = kept; len(kept) == 0 {
				cur.Targets = nil
			}
			return tx.Put(core.Key(model.KindTargetGroup, id), cur)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
