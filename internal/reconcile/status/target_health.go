package status

import (
	"context"
	"errors"
	"slices"
	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// SetTargetHealth records the health the data plane observed for a target of a
// target group. It is for the data plane (no account): it writes only while the
// target (ID and port) is registered in the group, draining included, and only
// when the state or reason changes, so that repeated reports cost no write. A
// zero h.Since is set to now.
func (c *Status) SetTargetHealth(ctx context.Context, targetGroupARN, targetID string, port int32, h model.TargetHealth) error {
	id := model.ARNResourceID(targetGroupARN)
	if id == "" {
		return nil
	}
	hk := core.Key(model.KindTargetHealth, model.TargetHealthID(targetGroupARN, targetID, port))
	registered := func(tg model.TargetGroup) bool {
		return tg.ARN == targetGroupARN && slices.ContainsFunc(tg.Targets, func(t model.Target) bool { return t.ID == targetID && t.Port == port })
	}
	same := func(cur model.TargetHealth) bool { return cur.State == h.State && cur.Reason == h.Reason }
	// Check before taking the update lock: most reports change nothing.
	tg, err := core.Get[model.TargetGroup](ctx, c.Store(), model.KindTargetGroup, id)
	if errors.Is(err, model.ErrNotFound) || (err == nil && !registered(tg)) {
		return nil
	}
	if err != nil {
		return err
	}
	var cur model.TargetHealth
	if err := c.Store().Get(ctx, hk, &cur); err == nil && same(cur) {
		return nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if h.Since.IsZero() {
		h.Since = c.Now().UTC()
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		tg, err := core.TxGet[model.TargetGroup](tx, model.KindTargetGroup, id)
		if core.IsNotFound(err) || (err == nil && !registered(tg)) {
			return nil
		}
		if err != nil {
			return err
		}
		var cur model.TargetHealth
		if ok, err := tx.Get(hk, &cur); err != nil {
			return err
		} else if ok && same(cur) {
			return nil
		}
		return tx.Put(hk, h)
	})
}
