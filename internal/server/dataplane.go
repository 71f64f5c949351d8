package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/agentapi"
	"strait/internal/dataplane"
	"strait/internal/fdbudget"
	"strait/internal/fleet"
	"strait/internal/hostagent"
	"strait/internal/hosts"
	"strait/internal/model"
	"strait/internal/placement"
	"strait/internal/reconcile/status"
)

// startDataplane sets up the netns data plane: the host's namespaces (adopting
// those a previous run left), their firewalls, the relay that carries traffic
// (in this process with the data plane's share of descriptors, or the data
// directory's relay process with cfg.RelayCommand) and reports target health
// to health, and the agent that applies the desired state, forwarding as f
// says.
func startDataplane(ctx context.Context, cfg Config, reg prometheus.Registerer, fds *fdbudget.Pool, f agent.Forwarding, health dataplane.HealthReport, bb *backbone.Config) (*agent.Agent, error) {
	return hostagent.NewDataplane(ctx, hostagent.DataplaneConfig{Tag: netns.TagFor(cfg.DataDir), Forwarding: f, Report: health,
		Backbone: bb, Registerer: reg, Descriptors: fds, DataDir: cfg.DataDir, RelayCommand: cfg.RelayCommand, Logger: cfg.Logger})
}

// localBackbone is how the server's data plane joins the backbone, and what
// the fleet tells the other hosts of it: with an agent listener, at
// --backbone-address or the listener's own address, keyed by a key pair kept
// in the data directory (backbone.key) like an agent's. Nil, nil when it does
// not join (no agent listener, or no address to join on: logged).
func localBackbone(cfg Config) (*backbone.Config, *fleet.Remote, error) {
	mode := cfg.Backbone
	if mode == "" {
		mode = backbone.ModeAuto
	}
	method, err := backbone.MethodFor(mode)
	if err != nil {
		return nil, nil, err
	}
	if cfg.AgentListen == "" {
		if cfg.BackboneAddress != "" {
			return nil, nil, errors.New("--backbone-address needs --agent-listen: the backbone links this server's zones with those of the hosts that join it")
		}
		return nil, nil, nil
	}
	underlay, err := backboneAddress(cfg)
	if err != nil {
		return nil, nil, err
	}
	if !underlay.IsValid() {
		cfg.Logger.Info("the server's data plane does not join the backbone: the agent listener has no one address to join on; give --backbone-address to link its zones with the hosts'",
			"agent_listen", cfg.AgentListen)
		return nil, nil, nil
	}
	key, err := agentapi.BackboneKey(cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("the server's backbone key: %w", err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, nil, fmt.Errorf("the server's backbone key: %w", err)
	}
	return &backbone.Config{HostID: fleet.LocalID, Underlay: underlay, Mode: mode, PrivateKey: key},
		&fleet.Remote{BackboneAddress: underlay, BackboneMethod: string(method), BackboneKey: pub}, nil
}

// backboneAddress is --backbone-address, else the agent listener's address
// when it is one IPv4 address other than loopback (invalid: none).
func backboneAddress(cfg Config) (netip.Addr, error) {
	if cfg.BackboneAddress != "" {
		a, err := netip.ParseAddr(cfg.BackboneAddress)
		if err != nil || !a.Is4() || a.IsUnspecified() || a.IsLoopback() {
			return netip.Addr{}, fmt.Errorf("--backbone-address %q: want the server's IPv4 address on the network between the hosts", cfg.BackboneAddress)
		}
		return a, nil
	}
	host, _, err := net.SplitHostPort(cfg.AgentListen)
	if err != nil {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() || a.IsUnspecified() || a.IsLoopback() {
		return netip.Addr{}, nil
	}
	return a, nil
}

// healthRecorder records target health in the store: the in-process agent's
// reports, or with other hosts (once fleet is set) what the hosts' views
// combine to.
type healthRecorder struct {
	ctx   context.Context
	st    *status.Status
	log   *slog.Logger
	fleet atomic.Pointer[fleet.Fleet]
}

// local takes a report of the in-process agent's proxy.
func (r *healthRecorder) local(tg string, t dataplane.Target, h model.TargetHealth) {
	if f := r.fleet.Load(); f != nil {
		f.LocalHealth(tg, t, h)
		return
	}
	r.record(placement.HealthOf(tg, t, h))
}

// record writes one target's health.
func (r *healthRecorder) record(h placement.TargetHealth) {
	if err := r.st.SetTargetHealth(r.ctx, h.TargetGroup, h.Target, h.Port, h.Health); err != nil && r.ctx.Err() == nil {
		r.log.Warn("recording target health", "target_group", h.TargetGroup, "target", h.Target, "err", err)
	}
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
			r := fleet.Remote{ID: h.ID, Zones: h.Zones, Reachable: h.State == hosts.StateReady, BackboneMethod: h.BackboneMethod}
			r.BackboneAddress, _ = netip.ParseAddr(h.BackboneAddress) // checked by the registry
			r.Transit, _ = netip.ParseAddr(h.TransitIP)               // allocated by the registry
			if h.BackboneKey != "" {
				r.BackboneKey, _ = backbone.ParseKey(h.BackboneKey) // checked by the registry
			}
			out = append(out, r)
		}
		return out, nil
	}
}

// revisionBase is the fleet's base revision: the clock, which a restart does
// not take back, so that hosts resuming from an earlier server's revision get
// the new server's parts.
func revisionBase() uint64 { return uint64(time.Now().UnixNano()) }
