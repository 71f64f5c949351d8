package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"strait/internal/server"
	"strait/internal/store"
)

func serverCommand() *cobra.Command {
	var cfg server.Config
	var etcd string
	var verbose, withConsole bool
	var relayMode string
	var member etcdMemberFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Strait server (AWS EC2 + ELBv2 Query APIs, state in etcd)",
		Long: `Run the Strait server: the EC2 and ELBv2 Query APIs on one HTTP listener, for the AWS CLI,
SDKs and Terraform (--endpoint-url http://LISTEN). GET /healthz answers 200 once ready,
GET /metrics serves Prometheus metrics. The web console is at /console/ on the same
listener (--console-path moves it, --console=false turns it off).

State lives in an embedded etcd in --data-dir, or in an external etcd cluster given by
--etcd-endpoints. Several servers share one region on an etcd cluster: an external one
(--etcd-endpoints), or their embedded etcds as its members (--etcd-name, --etcd-peer-listen,
and --etcd-initial-cluster to start a new cluster or --etcd-join to join a running one;
plain HTTP between members: for trusted networks only). With --dev any secret is accepted and a 12-digit access key ID is
taken as the account ID (any other key ID is account 000000000000); without it, create
accounts and keys with 'strait account create'.

With --dataplane=netns (the default) every VPC is a network namespace on this host, every
instance a namespace wired into its subnet, and endpoints and load balancers carry real
traffic; this needs root. 'strait down' removes what it created. --dataplane=none runs
the API and state machine alone; with --agent-listen it is then the control plane of the
hosts that join (they serve their zones; a zone no host serves realizes nothing).

With --agent-listen (e.g. :8788) other hosts join the region: 'strait host token create'
prints a one-time join token for 'strait agent' on the new host, which then talks to this
listener over mutual TLS only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg.Logger = newLogger(verbose)
			if etcd != "" {
				cfg.EtcdEndpoints = strings.Split(etcd, ",")
			}
			if cfg.EtcdMember, err = member.member(etcd != ""); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg.DisableConsole = !withConsole
			cfg.Version = version()
			if cfg.Dataplane == "netns" {
				if cfg.RelayCommand, err = relayCommandLine(relayMode, cfg.DataDir, verbose); err != nil {
					return err
				}
			}
			s, err := server.Start(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "strait: serving the EC2 and ELBv2 APIs on %s (region %s)\n", s.URL(), cfg.Region)
			if a := s.AgentAddr(); a != "" {
				fmt.Fprintf(os.Stderr, "strait: agents of other hosts enrol on %s (strait host token create)\n", a)
			}
			if u := s.ConsoleURL(); u != "" {
				fmt.Fprintf(os.Stderr, "strait: web console at %s\n", u)
			}
			<-ctx.Done()
			return s.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8787", "address of the API listener")
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory for the embedded etcd and the admin socket")
	f.BoolVar(&cfg.Dev, "dev", false, "accept any secret; a 12-digit access key ID is that account")
	f.StringVar(&cfg.Dataplane, "dataplane", "netns", "data plane: netns (VPCs and instances as network namespaces on this host, real traffic; needs root) or none (API and state machine only)")
	f.StringVar(&cfg.Forwarding, "forwarding", "kernel", "how endpoint traffic is carried: kernel (listeners whose target group needs no relay are translated in the kernel) or relay (every listener through the user-space relay)")
	f.StringVar(&relayMode, "relay", "process", "where the user-space relay runs: process (its own process, started once per data directory: relayed connections outlive a restart of the server) or inprocess (in the server: they end with it)")
	f.StringVar(&etcd, "etcd-endpoints", "", "comma-separated URLs of an external etcd cluster (default: embedded etcd in --data-dir)")
	f.StringVar(&member.name, "etcd-name", "", "this server's name as a member of an embedded etcd cluster (with --etcd-peer-listen and --etcd-initial-cluster or --etcd-join)")
	f.StringVar(&member.peer, "etcd-peer-listen", "", "URL the other etcd members reach this one by, listened on and advertised (http://IP:PORT, e.g. http://10.0.0.1:2380)")
	f.StringVar(&member.client, "etcd-client-listen", "", "URL etcd clients reach this member by: other members' --etcd-join, etcdctl (http://IP:PORT; default: this process only)")
	f.StringVar(&member.initial, "etcd-initial-cluster", "", "start a new embedded etcd cluster of these members, this one included: name=peerURL,... (all start together; ignored once --data-dir holds etcd data)")
	f.StringVar(&member.join, "etcd-join", "", "join the running etcd cluster at these client URLs (comma-separated) as a new member (ignored once --data-dir holds etcd data)")
	f.StringVar(&cfg.Region, "region", "us-east-1", "the AWS region this server answers for")
	f.StringVar(&cfg.Resolver, "verification-resolver", "", "DNS server (host:port) used to verify private DNS names (default: the system resolver)")
	f.BoolVar(&withConsole, "console", true, "serve the web console on the API listener (--console=false turns it off)")
	f.StringVar(&cfg.ConsolePath, "console-path", "/console/", "the path the web console is served under")
	f.StringVar(&cfg.AgentListen, "agent-listen", "", "address of the agent listener where other hosts' agents enrol and report, mutual TLS (e.g. :8788; default: none, this host only)")
	f.StringSliceVar(&cfg.AgentAdvertise, "agent-advertise", nil, "further DNS names or IP addresses agents reach the agent listener by, for its certificate (comma-separated)")
	f.StringVar(&cfg.BackboneAddress, "backbone-address", "", "the server's IPv4 address on the network between hosts, where its data plane joins the backbone (default: the --agent-listen address when it is one IPv4 address)")
	f.StringVar(&cfg.Backbone, "backbone", "auto", "how the backbone to other hosts is carried: auto (WireGuard: the kernel's where it has it, else wireguard-go), wireguard-go (WireGuard in this process even so) or plain (unencrypted, for trusted networks only; every host must run plain)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// newLogger logs text to stderr, debug messages too when verbose.
func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: fatalLevelName}))
}

// fatalLevelName names the level of messages that precede the process's exit
// (store.LevelFatal) FATAL instead of ERROR+4.
func fatalLevelName(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && a.Value.Any() == store.LevelFatal {
		a.Value = slog.StringValue("FATAL")
	}
	return a
}

// relayCommandLine is the command that starts the relay process for --relay
// mode (nil: the relay runs in the server).
func relayCommandLine(mode, dataDir string, verbose bool) ([]string, error) {
	switch mode {
	case "inprocess":
		return nil, nil
	case "process":
	default:
		return nil, fmt.Errorf("--relay %q: want process or inprocess", mode)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to start the relay process: %w", err)
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	argv := []string{exe, "relay", "--data-dir", dir}
	if verbose {
		argv = append(argv, "--verbose")
	}
	return argv, nil
}

// etcdMemberFlags are the flags that make the embedded etcd a cluster member.
type etcdMemberFlags struct {
	name, peer, client, initial, join string
}

// member returns the member the flags describe (zero when none is set), or
// what is wrong with them. external says whether --etcd-endpoints is set.
func (f etcdMemberFlags) member(external bool) (store.Member, error) {
	m := store.Member{Name: f.name, PeerURL: f.peer, ClientURL: f.client, InitialCluster: f.initial}
	if f.join != "" {
		m.Join = strings.Split(f.join, ",")
	}
	if m.IsZero() {
		return m, nil
	}
	if external {
		return m, errors.New("--etcd-endpoints (an external etcd cluster) excludes --etcd-name, --etcd-peer-listen, --etcd-client-listen, --etcd-initial-cluster and --etcd-join (this server as a member of an embedded etcd cluster)")
	}
	return m, m.Validate()
}
