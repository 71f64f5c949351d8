package hostagent

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
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
	// Descriptors is the data plane's share of descriptors (nil: no limit).
	Descriptors dataplane.Descriptors
	// Backbone, when set, joins the host to the backbone (backbone.New with
	// Tag and Log filled in from here), and the agent links its VPCs' remote
	// subnets over it; Close on the agent stops it. Nil: no backbone (the
	// server's in-process data plane, in this increment).
	Backbone *backbone.Config
	Logger   *slog.Logger
}

// NewDataplane sets up the netns data plane of a host: its namespaces
// (adopting those a previous run with the same tag left), their firewalls, the
// proxy that carries traffic, the backbone when asked for, and the agent that
// applies desired states.
func NewDataplane(cfg DataplaneConfig) (*agent.Agent, error) {
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
	proxy := dataplane.New(dataplane.Options{Dial: host.StartDial, Report: cfg.Report, Logger: cfg.Logger,
		Registerer: cfg.Registerer, Descriptors: cfg.Descriptors})
	opts := []agent.Option{agent.WithForwarding(cfg.Forwarding)}
	var bb *backbone.Backbone
	if cfg.Backbone != nil {
		bc := *cfg.Backbone
		bc.Tag, bc.Log = cfg.Tag, cfg.Logger
		if bb, err = backbone.New(bc); err != nil {
			proxy.Close()
			return nil, err
		}
		opts = append(opts, agent.WithBackbone(bb))
	}
	a, err := agent.New(host, fw, proxy, cfg.Logger, opts...)
	if err != nil && bb != nil {
		bb.Close()
	}
	return a, err
}
