// Package reconcile moves resources from the states the API gives them (pending,
// provisioning) to the states the data plane has realized (available, active), and
// finishes deletions. It watches the control layer for changes and applies the whole
// desired state each time, so a restart picks up where the last run stopped.
package reconcile

import (
	"context"
	"log/slog"
	"time"

	"strait/internal/control"
)

// Reconciler settles resource states.
type Reconciler struct {
	ctl *control.Control
	log *slog.Logger
}

// New returns a reconciler over ctl.
func New(ctl *control.Control, log *slog.Logger) *Reconciler {
	return &Reconciler{ctl: ctl, log: log}
}

// Run settles states after every change until ctx is done. It also runs once a
// second, so that changes made by other servers on the same store are picked up.
func (r *Reconciler) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := r.ctl.Settle(ctx, control.NoDataplane{}); err != nil && ctx.Err() == nil {
			r.log.Warn("reconcile", "err", err)
		}
		if err := r.Publish(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("publish", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.ctl.Changed():
		case <-tick.C:
		}
	}
}
