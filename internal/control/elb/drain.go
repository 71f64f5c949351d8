package elb

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// defaultDeregistrationDelay is deregistration_delay.timeout_seconds when a group
// does not say.
const defaultDeregistrationDelay = 300 * time.Second

// DeregistrationDelay is how long a target group lets a deregistered target drain
// (deregistration_delay.timeout_seconds, 300 s by default).
func DeregistrationDelay(tg model.TargetGroup) time.Duration {
	n, err := strconv.Atoi(tg.Attributes[attrDeregDelay])
	if err != nil || n < 0 {
		return defaultDeregistrationDelay
	}
	return time.Duration(n) * time.Second
}

// DeregisterTargets deregisters targets of a target group; each must be
// registered. A target of a group that a listener uses starts draining: it gets
// no new connections and leaves the group when the group's deregistration delay is
// over (see Settle), unless it is registered again first. A target of an unused
// group, or of a group whose delay is 0, leaves at once. Deregistering a target
// that is already draining changes nothing.
func (c *ELB) DeregisterTargets(ctx context.Context, acct, arn string, targets []TargetInput) error {
	tg, err := c.TargetGroup(ctx, acct, arn)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return model.Missing("Targets")
	}
	// Checked before the update too, so that a repeat (the reconciler's, say)
	// neither writes nor wakes the reconciler.
	if _, changed, err := deregister(tg, targets, c.Now()); err != nil || !changed {
		return err
	}
	return c.Update(ctx, func(tx *store.Tx) error {
		tg, err := txGetELB[model.TargetGroup](c, tx, acct, arn, model.KindTargetGroup)
		if err != nil {
			return err
		}
		out, changed, err := deregister(tg, targets, c.Now())
		if err != nil || !changed {
			return err
		}
		DropTargetHealth(tx, tg, out.Targets)
		return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(arn)), out)
	})
}

// deregister applies a deregistration to a copy of a target group: the targets
// start draining until now plus the group's delay, or leave at once when no
// listener uses the group or the delay is 0. It reports whether anything changed.
func deregister(tg model.TargetGroup, targets []TargetInput, now time.Time) (model.TargetGroup, bool, error) {
	tg.Targets = slices.Clone(tg.Targets)
	delay := DeregistrationDelay(tg)
	atOnce := len(tg.Listeners) == 0 || delay == 0
	changed := false
	var missing []string
	for _, in := range targets {
		port := in.Port
		if port == 0 {
			port = tg.Port
		}
		i := slices.IndexFunc(tg.Targets, func(x model.Target) bool { return x.ID == in.ID && x.Port == port })
		switch {
		case i < 0:
			missing = append(missing, fmt.Sprintf("'Id=%s,Port=%d'", in.ID, port))
		case atOnce:
			tg.Targets = slices.Delete(tg.Targets, i, i+1)
			changed = true
		case !tg.Targets[i].Draining():
			tg.Targets[i].DrainingUntil = now.UTC().Add(delay)
			changed = true
		}
	}
	if len(missing) > 0 {
		return tg, false, model.InvalidKind(model.KindTarget, missing[0], "The following targets are not registered in target group '%s': %s", tg.ARN, strings.Join(missing, ", "))
	}
	if len(tg.Targets) == 0 {
		tg.Targets = nil
	}
	return tg, changed, nil
}

// DropTargetHealth deletes, inside tx, the health records of the targets of old
// that are not in kept.
func DropTargetHealth(tx *store.Tx, old model.TargetGroup, kept []model.Target) {
	for _, t := range old.Targets {
		if !slices.ContainsFunc(kept, func(x model.Target) bool { return x.ID == t.ID && x.Port == t.Port }) {
			tx.Delete(core.Key(model.KindTargetHealth, model.TargetHealthID(old.ARN, t.ID, t.Port)))
		}
	}
}

// Drained reports whether a draining target is done: its delay is over, or no
// listener uses its group.
func Drained(tg model.TargetGroup, t model.Target, now time.Time) bool {
	return t.Draining() && (len(tg.Listeners) == 0 || !now.Before(t.DrainingUntil))
}
