package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/agentapi"
	"strait/internal/hostagent"
)

func agentCommand() *cobra.Command {
	var cfg agentapi.AgentConfig
	var verbose bool
	var forwarding, backboneMode, relayMode string
	cmd := &cobra.Command{
		Use:   "agent --server URL --token TOKEN --zones ZONE[,ZONE…]",
		Short: "Join this host to a Strait region and serve availability zones (in progress)",
		Long: `Join this host to the region of a Strait server and serve the given availability zones.

The first start enrols: the agent checks that the server's CA is the one the join token
names (` + "`strait host token create`" + ` on the server prints the token), sends a certificate
request with the zones and its backbone address, and keeps the host's key and certificate
in --data-dir. From then on every call to the server is mutual TLS, and a restarted agent
uses its certificate again: no token is needed.

The agent then serves its zones: it watches the host's part of the region's desired state
(the VPCs, instances, endpoint ENIs and load balancer nodes of its zones), applies it in
network namespaces named after --data-dir (like the server's) and reports what it realized,
so that instances in its zones become running once it has them. It needs root. Stopped, it
leaves the namespaces for the next start to adopt; ` + "`strait down --data-dir DIR`" + ` removes them.
As the server's, its user-space relay and VPC resolvers run in a relay process of their own
(--relay process, the default), which the agent starts once and adopts when it restarts, so
relayed connections on this host outlive the agent (those that cross the backbone stop with
it when WireGuard runs in the agent, wireguard-go; the kernel's WireGuard carries them on).

Hosts carry their VPCs' traffic to each other over the backbone: with --backbone auto (the
default) the kernel's WireGuard where the kernel has it (wireguard), else WireGuard in this
process on a TUN device (wireguard-go, also asked for with --backbone wireguard-go), keyed by
the server: the agent makes its key pair on the first start, keeps the
private key in --data-dir (backbone.key, 0600) and reports only the public key; the server
hands each host its peers' public keys and a preshared key per pair. --backbone plain sends
VXLAN unencrypted, for trusted networks only, and links only with hosts that run plain too.
Hosts reach each other on their backbone addresses over UDP port 51820 (WireGuard) or 4789
(plain). Backbone traffic stops with the agent in auto mode. Instances of one VPC on different
hosts reach each other, the server's own data plane (the zones no agent serves) included when it
joins the backbone (strait server --agent-listen on an IPv4 address, or --backbone-address), and
endpoint traffic crosses hosts. Each host reports the health of the targets its load balancer
nodes check; the server combines the hosts' views (a target is healthy when a reachable host
sees it healthy).`,
		Example: `  strait agent --server https://10.0.0.1:8788 --token abc123.… --zones us-east-1b`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Server == "" {
				return errors.New("--server is required: the https://HOST:PORT of the server's agent listener (strait server --agent-listen)")
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			if err := netns.CheckPrivileges(); err != nil {
				return fmt.Errorf("strait agent runs its zones' network namespaces and needs root: run it as root (sudo)%s", strings.TrimPrefix(err.Error(), netns.ErrNeedRoot.Error()))
			}
			forward, err := agent.ParseForwarding(forwarding)
			if err != nil {
				return fmt.Errorf("--forwarding: %w", err)
			}
			relayCmd, err := relayCommandLine(relayMode, cfg.DataDir, verbose)
			if err != nil {
				return err
			}
			method, err := backbone.MethodFor(backboneMode)
			if err != nil {
				return err
			}
			underlay, err := backboneAddress(cfg.BackboneAddress, cfg.Server)
			if err != nil {
				return err
			}
			cfg.BackboneAddress, cfg.BackboneMethod = underlay.String(), string(method)
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			cfg.Logger = log
			cfg.Version = version()
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return err
			}
			lock, err := hostagent.LockDataDir(cfg.DataDir, "strait agent or server")
			if err != nil {
				return err
			}
			defer lock.Close()
			key, err := agentapi.BackboneKey(cfg.DataDir)
			if err != nil {
				return fmt.Errorf("the host's backbone key: %w", err)
			}
			if cfg.BackboneKey, err = key.PublicKey(); err != nil {
				return fmt.Errorf("the host's backbone key: %w", err)
			}
			cfg.Serve = func(ctx context.Context, c *agentapi.Client) error {
				// Target health goes to the server with each report, where the
				// hosts' views combine.
				health := hostagent.NewHealthView()
				bb := &backbone.Config{HostID: c.HostID(), Underlay: underlay, Mode: backboneMode, PrivateKey: key}
				dp, err := hostagent.NewDataplane(ctx, hostagent.DataplaneConfig{Tag: netns.TagFor(cfg.DataDir), Forwarding: forward, Report: health.Record,
					Backbone: bb, DataDir: cfg.DataDir, RelayCommand: relayCmd, Logger: log})
				if err != nil {
					return err
				}
				defer dp.Close() // with the backbone: wireguard-go stops with it (the kernel's WireGuard goes on until a restart adopts it)
				log.Info("serving the host's zones", "host", c.HostID(), "zones", cfg.Zones, "namespaces", "strait-"+netns.TagFor(cfg.DataDir)+"-…")
				return hostagent.Serve(ctx, c, dp, health, log)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return agentapi.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "", "the server's agent listener, https://HOST[:PORT] (port 8788 when omitted); server replicas' listeners comma-separated (the agent also learns them from the servers and calls the next when one is gone)")
	f.StringVar(&cfg.Token, "token", "", "the one-time join token (needed only to enrol)")
	f.StringSliceVar(&cfg.Zones, "zones", nil, "the availability zones this host serves, comma-separated (e.g. us-east-1b)")
	f.StringVar(&cfg.DataDir, "data-dir", defaultAgentDataDir(), "directory for the host's key, certificate and the region's CA")
	f.StringVar(&cfg.BackboneAddress, "backbone-address", "", "the IP address other hosts reach this one on (default: the address the server sees this host's connections come from)")
	f.StringVar(&backboneMode, "backbone", backbone.ModeAuto, "how the backbone to other hosts is carried: auto (WireGuard: the kernel's where it has it, else wireguard-go), wireguard-go (WireGuard in this process even so) or plain (unencrypted, for trusted networks only; every host must run plain)")
	f.StringVar(&forwarding, "forwarding", agent.ForwardKernel.String(), "how endpoint traffic is carried: kernel or relay (as strait server --forwarding; the same on every host of a region)")
	f.StringVar(&relayMode, "relay", "process", "where the user-space relay and the VPC resolvers run: process (a relay process of their own, adopted across restarts) or inprocess (as strait server --relay)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages (each heartbeat)")
	_ = cmd.MarkFlagRequired("zones")
	return cmd
}

// backboneAddress is the host's backbone address: --backbone-address, or the
// address the kernel picks for reaching the server (what the server sees).
func backboneAddress(flag, server string) (netip.Addr, error) {
	if flag == "" {
		a, err := agentapi.LocalAddress(server)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w (or give --backbone-address)", err)
		}
		if !a.Is4() {
			return netip.Addr{}, fmt.Errorf("this host reaches the server from %s; the backbone needs an IPv4 address: give --backbone-address", a)
		}
		return a, nil
	}
	a, err := netip.ParseAddr(flag)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("--backbone-address %q: want this host's IPv4 address on the network between the hosts", flag)
	}
	return a, nil
}

// defaultAgentDataDir is /var/lib/strait-agent for root and
// ~/.local/state/strait-agent otherwise.
func defaultAgentDataDir() string {
	return filepath.Join(filepath.Dir(defaultDataDir()), filepath.Base(defaultDataDir())+"-agent")
}

// version names this build: the module version and, when built from a
// repository, its commit.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if len(s.Value) > 12 {
				s.Value = s.Value[:12]
			}
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v
}
