package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/control"
	"strait/internal/dataplane"
	"strait/internal/fdbudget"
	"strait/internal/model"
	"strait/internal/reconcile/status"
)

// startDataplane sets up the netns data plane: the host's namespaces (adopting
// those a previous run left), their firewalls, the proxy that carries traffic
// (with the data plane's share of descriptors) and reports target health into
// the store, and the agent that applies the desired state, forwarding as f says.
func startDataplane(ctx context.Context, cfg Config, ctl *control.Control, reg prometheus.Registerer, fds *fdbudget.Pool, f agent.Forwarding) (*agent.Agent, error) {
	host, err := netns.NewHost(netns.TagFor(cfg.DataDir), cfg.Logger)
	if err != nil {
		return nil, err
	}
	fw, err := firewall.New(host, cfg.Logger)
	if err != nil {
		return nil, err
	}
	st := status.New(ctl)
	report := func(tg string, t dataplane.Target, h model.TargetHealth) {
		if err := st.SetTargetHealth(ctx, tg, t.ID, int32(t.Addr.Port()), h); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("recording target health", "target_group", tg, "target", t.ID, "err", err)
		}
	}
	proxy := dataplane.New(dataplane.Options{Dial: host.StartDial, Report: report, Logger: cfg.Logger, Registerer: reg, Descriptors: fds})
	return agent.New(host, fw, proxy, cfg.Logger, agent.WithForwarding(f))
}
