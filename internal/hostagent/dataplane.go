package hostagent

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent"
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
	Logger      *slog.Logger
}

// NewDataplane sets up the netns data plane of a host: its namespaces
// (adopting those a previous run with the same tag left), their firewalls, the
// proxy that carries traffic, and the agent that applies desired states.
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
	return agent.New(host, fw, proxy, cfg.Logger, agent.WithForwarding(cfg.Forwarding))
}
