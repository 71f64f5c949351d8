package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/control"
	"strait/internal/dataplane"
	"strait/internal/fdbudget"
	"strait/internal/fleet"
	"strait/internal/hostagent"
	"strait/internal/hosts"
	"strait/internal/model"
	"strait/internal/reconcile/status"
)

// startDataplane sets up the netns data plane: the host's namespaces (adopting
// those a previous run left), their firewalls, the proxy that carries traffic
// (with the data plane's share of descriptors) and reports target health into
// the store, and the agent that applies the desired state, forwarding as f says.
func startDataplane(ctx context.Context, cfg Config, ctl *control.Control, reg prometheus.Registerer, fds *fdbudget.Pool, f agent.Forwarding) (*agent.Agent, error) {
	st := status.New(ctl)
	report := func(tg string, t dataplane.Target, h model.TargetHealth) {
		if err := st.SetTargetHealth(ctx, tg, t.ID, int32(t.Addr.Port()), h); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("recording target health", "target_group", tg, "target", t.ID, "err", err)
		}
	}
	return hostagent.NewDataplane(hostagent.DataplaneConfig{Tag: netns.TagFor(cfg.DataDir), Forwarding: f, Report: report,
		Registerer: reg, Descriptors: fds, Logger: cfg.Logger})
}

// remoteHosts lists the registry's hosts for the fleet.
func remoteHosts(reg *hosts.Registry) func(ctx context.Context) ([]fleet.Remote, error) {
	return func(ctx context.Context) ([]fleet.Remote, error) {
		list, err := reg.Hosts(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]fleet.Remote, 0, len(list))
		for _, h := range list {
			out = append(out, fleet.Remote{ID: h.ID, Zones: h.Zones, Reachable: h.State == hosts.StateReady})
		}
		return out, nil
	}
}

// revisionBase is the fleet's base revision: the clock, which a restart does
// not take back, so that hosts resuming from an earlier server's revision get
// the new server's parts.
func revisionBase() uint64 { return uint64(time.Now().UnixNano()) }
