// Package reconcile moves resources from the states the API gives them (pending,
// provisioning) to the states the data plane has realized (available, active), and
// finishes deletions. It watches the control layer for changes and applies the whole
// desired state each time, so a restart picks up where the last run stopped.
package reconcile

import (
	"context"
	"log/slog"
	"time"

	"strait/internal/agent"
	"strait/internal/control"
	"strait/internal/reconcile/status"
)

// Dataplane realizes desired states on the host and tells what it realized.
type Dataplane interface {
	status.Realized
	Apply(ctx context.Context, st agent.State) error
}

// Config is what a reconciler needs besides the control layer.
type Config struct {
	// Dataplane realizes the desired state; nil means none (--dataplane=none):
	// records are realized as soon as they are written.
	Dataplane Dataplane
	// NotificationDir receives connection notifications ("" = not delivered).
	NotificationDir string
	// TrafficFromBaseline makes the data plane's first traffic counters a
	// baseline, not growth: for a leadership term after an earlier one of
	// this process, which recorded them up to its end.
	TrafficFromBaseline bool
	// Wake, when set, delivers a value when the data plane realized more
	// (a host's report): a pass then runs without waiting for the tick.
	Wake   <-chan struct{}
	Logger *slog.Logger
}

// Reconciler settles resource states.
type Reconciler struct {
	ctl    *control.Control
	status *status.Status
	cfg    Config
	log    *slog.Logger
	// last holds the last error logged per step, so a persistent failure is
	// logged once, not every second.
	last    map[string]string
	traffic trafficReporter
	first   *firstRealization
}

// New returns a reconciler over ctl.
func New(ctl *control.Control, cfg Config) *Reconciler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{ctl: ctl, status: status.New(ctl), cfg: cfg, log: cfg.Logger, last: map[string]string{}, first: newFirstRealization(),
		traffic: trafficReporter{baseline: cfg.TrafficFromBaseline}}
}

// Run reconciles after every change until ctx is done. It also runs once a second,
// so that changes made by other servers on the same store, expiring drains and
// a failed step's retry are picked up.
func (r *Reconciler) Run(ctx context.Context) {
	// The passes scan every kind they realize; the cache makes that cost what
	// changed since the last pass.
	defer r.ctl.StartCache(ctx)()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		r.Pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.ctl.Changed():
		case <-r.cfg.Wake:
		case <-tick.C:
		}
	}
}

// Pass runs one reconciliation: realize the desired state on the host, settle
// states on what is realized, publish PrivateLink resources, deliver notifications.
func (r *Reconciler) Pass(ctx context.Context) {
	start := time.Now()
	mark := start
	var attrs []any
	lap := func(name string) {
		now := time.Now()
		attrs = append(attrs, slog.Float64(name+"_ms", float64(now.Sub(mark).Microseconds())/1000))
		mark = now
	}
	var realized status.Realized = status.NoDataplane{}
	if dp := r.cfg.Dataplane; dp != nil {
		snap, err := r.status.Snapshot(ctx)
		lap("snapshot")
		if err == nil {
			st := Desired(snap, r.ctl)
			lap("desired")
			err = dp.Apply(ctx, st)
			lap("apply")
			r.first.done()
		}
		r.report(ctx, "dataplane", err)
		realized = dp
		if tc, ok := dp.(TrafficCounter); ok {
			r.report(ctx, "traffic", r.traffic.report(ctx, r.status, tc, time.Now()))
			lap("traffic")
		}
	}
	if r.cfg.Dataplane == nil {
		r.first.done()
	}
	r.report(ctx, "settle", r.status.Settle(ctx, realized))
	lap("settle")
	r.report(ctx, "publish", r.Publish(ctx))
	lap("publish")
	if r.cfg.NotificationDir != "" {
		r.report(ctx, "notifications", r.status.DeliverNotifications(ctx, r.cfg.NotificationDir))
		lap("notifications")
	}
	attrs = append(attrs, slog.Time("start", start), slog.Float64("total_ms", float64(time.Since(start).Microseconds())/1000))
	r.log.Debug("reconcile pass", attrs...)
}

// report logs a step's error once per distinct message, and its recovery.
func (r *Reconciler) report(ctx context.Context, step string, err error) {
	if ctx.Err() != nil {
		return
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == r.last[step] {
		return
	}
	r.last[step] = msg
	if err != nil {
		r.log.Warn("reconcile", "step", step, "err", err)
	} else {
		r.log.Info("reconcile recovered", "step", step)
	}
}
