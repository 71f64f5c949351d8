package hostagent

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
	"strait/internal/relay"
)

// DataplaneConfig is what a host's data plane is built with.
type DataplaneConfig struct {
	// Tag names the host's namespaces, "strait-<tag>-…" (netns.TagFor of the
	// data directory).
	Tag string
	// Forwarding is how endpoint traffic is carried.
	Forwarding agent.Forwarding
	// Report receives target health changes (nil: not recorded).
	Report dataplane.HealthReport
	// Registerer gets the proxy's metrics (nil: none).
	Registerer prometheus.Registerer
	// Descriptors is the in-process relay's share of descriptors (nil: no
	// limit); a relay process has its own.
	Descriptors dataplane.Descriptors
	// Backbone, when set, joins the host to the backbone (backbone.New with
	// Tag and Log filled in from here), and the agent links its VPCs' remote
	// subnets over it; Close on the agent stops it. Nil: no backbone (the
	// server's in-process data plane, in this increment).
	Backbone *backbone.Config
	// DataDir is the data directory, where a relay process answers.
	// RelayCommand, when set, starts that relay process if none answers
	// (relay.Attach): the relay then runs there and its connections outlive
	// this process. Nil: the relay runs in this process, after a relay
	// process an earlier run left in DataDir is stopped (it holds the
	// addresses this one needs).
	DataDir      string
	RelayCommand []string
	Logger       *slog.Logger
}

// NewDataplane sets up the netns data plane of a host: its namespaces
// (adopting those a previous run with the same tag left), their firewalls, the
// relay that carries traffic, the backbone when asked for, and the agent that
// applies desired states.
func NewDataplane(ctx context.Context, cfg DataplaneConfig) (*agent.Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, err := netns.NewHost(cfg.Tag, cfg.Logger)
	if err != nil {
		return nil, err
	}
	fw, err := firewall.New(host, cfg.Logger)
	if err != nil {
		return nil, err
	}
	rl, err := newRelay(ctx, cfg, host)
	if err != nil {
		return nil, err
	}
	opts := []agent.Option{agent.WithForwarding(cfg.Forwarding)}
	var bb *backbone.Backbone
	if cfg.Backbone != nil {
		bc := *cfg.Backbone
		bc.Tag, bc.Log = cfg.Tag, cfg.Logger
		if bb, err = backbone.New(bc); err != nil {
			rl.Close()
			return nil, err
		}
		opts = append(opts, agent.WithBackbone(bb))
	}
	a, err := agent.New(host, fw, rl, cfg.Logger, opts...)
	if err != nil {
		rl.Close()
		if bb != nil {
			bb.Close()
		}
		return nil, err
	}
	if c, ok := rl.(*relay.Client); ok && cfg.Registerer != nil {
		if err := cfg.Registerer.Register(c.Collector()); err != nil {
			cfg.Logger.Warn("relay metrics not registered", "err", err)
		}
	}
	return a, nil
}

// newRelay is the relay cfg asks for: the relay process's client, or a proxy
// in this process.
func newRelay(ctx context.Context, cfg DataplaneConfig, host *netns.Host) (agent.Relay, error) {
	if cfg.RelayCommand == nil {
		if cfg.DataDir != "" {
			if stopped, err := relay.Stop(ctx, cfg.DataDir); err != nil {
				return nil, err
			} else if stopped {
				cfg.Logger.Warn("stopped the relay process an earlier run left (its relayed connections ended): the relay runs in this process now")
			}
		}
		proxy := dataplane.New(dataplane.Options{Dial: host.StartDial, Report: cfg.Report, Logger: cfg.Logger,
			Registerer: cfg.Registerer, Descriptors: cfg.Descriptors})
		return relay.NewLocal(proxy, host, cfg.Logger), nil
	}
	c, err := relay.Attach(ctx, relay.ProcessConfig{DataDir: cfg.DataDir, Command: cfg.RelayCommand, Report: cfg.Report, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return c, nil
}
