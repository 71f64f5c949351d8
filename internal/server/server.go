// Package server assembles a Strait server: the store (embedded or external etcd),
// the control layer, the AWS Query API and the native JSON API (/strait/v1/), the
// reconciler that moves resources to their realized states, the health and metrics
// endpoints and the local admin socket.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"strait/internal/admission"
	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/agentapi"
	"strait/internal/awsapi"
	"strait/internal/console"
	"strait/internal/control"
	"strait/internal/fdbudget"
	"strait/internal/fleet"
	"strait/internal/hosts"
	"strait/internal/model"
	"strait/internal/nativeapi"
	"strait/internal/reconcile"
	"strait/internal/reconcile/status"
	"strait/internal/store"
)

// Config is what `strait server` takes on its command line.
type Config struct {
	Listen        string
	DataDir       string
	Dev           bool
	Dataplane     string
	EtcdEndpoints []string
	Region        string
	Resolver      string
	// ConsolePath is where the web console is served on the API listener
	// (default /console/); DisableConsole turns it off.
	ConsolePath    string
	DisableConsole bool
	// Forwarding is how the netns data plane carries endpoint traffic: "kernel"
	// (the default) or "relay" (see agent.ParseForwarding).
	Forwarding string
	// AgentListen is the address of the agent listener, where the agents of
	// other hosts enrol and report (mutual TLS); empty: no listener.
	// AgentAdvertise are further names or addresses agents reach it by.
	AgentListen    string
	AgentAdvertise []string
	// BackboneAddress is the server's address on the network between hosts,
	// for its data plane to join the backbone (default: the agent listener's
	// address when it is one IPv4 address other than loopback). Backbone is
	// the mode, backbone.ModeAuto (the default), ModeUserspace or ModePlain.
	BackboneAddress string
	Backbone        string
	// RelayCommand starts the data plane's relay process (`strait relay
	// --data-dir DIR`) when none runs for the data directory, so that relayed
	// connections outlive this process (package relay). Nil: the relay runs
	// in this process, and its connections end with it.
	RelayCommand []string
	// EtcdMember makes the embedded etcd a member of a cluster of the
	// replicas' embedded etcds (zero: a single member; see store.Member).
	EtcdMember store.Member
	// Version names this build in `strait host list` (the server's own row).
	Version string
	Logger  *slog.Logger
}

// Server is a running Strait server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	st     *store.Store
	ctl    *control.Control
	http   *http.Server
	ln     net.Listener
	admin  *adminServer
	hosts  *hosts.Registry
	agents *agentapi.Server // nil without an agent listener
	agent  *agent.Agent     // nil with --dataplane=none
	lead   *leadership
	bg     sync.WaitGroup // goroutines that end with the run context
	lock   *os.File       // the data directory's lock, held while serving
	cancel context.CancelFunc
	done   chan struct{}
	// ready is closed once the reconciler has realized the stored state: the
	// data plane's listeners and resolvers answer.
	ready <-chan struct{}
	// consolePath is where the console is served ("" when it is off).
	consolePath string
}

// Start checks what can fail before it changes anything (the data plane's
// privileges, one server per data directory, the listen address), then opens the
// store, starts the reconciler and begins serving on cfg.Listen. /healthz answers
// 200 once the first reconciliation has realized the stored state.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dataplane == "" {
		cfg.Dataplane = "none"
	}
	if cfg.Dataplane != "none" && cfg.Dataplane != "netns" {
		return nil, fmt.Errorf("unknown data plane %q: use --dataplane=netns (namespaces on this host, needs root) or --dataplane=none (the API and state machine without traffic)", cfg.Dataplane)
	}
	if cfg.Forwarding == "" {
		cfg.Forwarding = agent.ForwardKernel.String()
	}
	forwarding, err := agent.ParseForwarding(cfg.Forwarding)
	if err != nil {
		return nil, fmt.Errorf("--forwarding: %w", err)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("a data directory is required (--data-dir)")
	}
	if cfg.Dataplane == "netns" {
		if err := netns.CheckPrivileges(); err != nil {
			return nil, err
		}
	}
	// What Start has set up so far, undone in reverse order if a later step fails.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	var lock *os.File
	if _, statErr := os.Stat(cfg.DataDir); statErr == nil {
		if lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		undo = append(undo, func() { lock.Close() })
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	undo = append(undo, func() { ln.Close() })
	if lock == nil {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data directory: %w", err)
		}
		if lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		undo = append(undo, func() { lock.Close() })
	}
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Endpoints: cfg.EtcdEndpoints, Member: cfg.EtcdMember, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { st.Close() })
	ctl := control.New(st, control.Config{Region: cfg.Region, Resolver: cfg.Resolver, Logger: cfg.Logger})
	// A store written by an earlier version keeps subnets' addresses in the subnet
	// records; move them to address records now (changes to a subnet move them
	// too, so a failure here loses nothing).
	if err := ctl.MoveLegacyAddresses(ctx); err != nil {
		cfg.Logger.Warn("moving subnet addresses to address records failed; they move as subnets change", "err", err)
	}
	// VPCs and load balancer nodes of an earlier version have no transit address:
	// the reconciler needs one for each.
	if err := ctl.AssignTransitAddresses(ctx); err != nil {
		return nil, err
	}
	// The host registry's CA is created on the first start, so that join
	// tokens can name it before any agent listener runs.
	hostReg := hosts.New(st, hosts.Config{Region: ctl.Region(), Zones: ctl.Zones(), Logger: cfg.Logger})
	if _, err := hostReg.CA(ctx); err != nil {
		return nil, fmt.Errorf("host certificate authority: %w", err)
	}
	api, err := awsapi.New(ctl, ctl, awsapi.Config{Dev: cfg.Dev, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	limit, err := fdbudget.OpenFileLimit()
	if err != nil {
		return nil, err
	}
	fds, err := fdbudget.New(limit, descriptorReserve(limit), cfg.Logger)
	if err != nil {
		return nil, err
	}
	apiFDs := fds.Pool(apiConnectionCap(fds.Limit()))
	dataFDs := fds.Pool(0)
	apiLn := admission.NewListener(ln, admission.Config{Descriptors: apiFDs, Logger: cfg.Logger})

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	reg.MustRegister(api.Collectors()...)
	reg.MustRegister(apiLn.Collectors()...)

	s := &Server{cfg: cfg, log: cfg.Logger, st: st, ctl: ctl, ln: apiLn, lock: lock, hosts: hostReg, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle(nativeapi.Prefix, nativeapi.New(ctl, ctl, nativeapi.Config{Dev: cfg.Dev, Hosts: hostReg, Logger: cfg.Logger}))
	if !cfg.DisableConsole {
		con, err := console.New(ctl, ctl, console.Config{Prefix: cfg.ConsolePath, Dev: cfg.Dev, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		if con.Prefix() == "/" || con.Prefix() == nativeapi.Prefix {
			return nil, fmt.Errorf("--console-path %s would hide the APIs: choose a path such as /console/", con.Prefix())
		}
		mux.Handle(con.Prefix(), con)
		mux.Handle("GET "+strings.TrimSuffix(con.Prefix(), "/"), http.RedirectHandler(con.Prefix(), http.StatusMovedPermanently))
		s.consolePath = con.Prefix()
	}
	mux.Handle("/", api)
	s.http = &http.Server{
		Handler:           apiLn.Handler(mux),
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		ConnState:         apiLn.ConnState,
		ConnContext:       apiLn.ConnContext,
	}

	admin, err := startAdmin(filepath.Join(cfg.DataDir, "admin.sock"), ctl, hostReg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s.admin = admin
	undo = append(undo, admin.close)

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	undo = append(undo, cancel)
	go fds.Run(runCtx)
	// The reconciler runs a term at a time (leadership.go): with an agent
	// listener each term applies through a fleet, where the hosts that joined
	// serve their zones and the in-process agent (or nothing, with
	// --dataplane none) the others.
	health := &healthRecorder{ctx: runCtx, st: status.New(ctl), log: cfg.Logger}
	t := &terms{ctl: ctl, recCfg: reconcile.Config{Logger: cfg.Logger, NotificationDir: filepath.Join(cfg.DataDir, "notifications")},
		health: health, ready: make(chan struct{}), shared: sharedStore(cfg)}
	var member *fleet.Remote
	if cfg.Dataplane == "netns" {
		bb, mem, err := localBackbone(cfg)
		if err != nil {
			return nil, err
		}
		ag, err := startDataplane(ctx, cfg, reg, dataFDs, forwarding, health.local, bb)
		if err != nil && bb != nil && cfg.BackboneAddress == "" {
			// Joined only because the agent listener has one address: the
			// server runs without (no TUN device, the port taken, …).
			cfg.Logger.Warn("the server's data plane cannot join the backbone: its zones stay off it (with --backbone-address this stops the server)", "err", err)
			bb, mem = nil, nil
			ag, err = startDataplane(ctx, cfg, reg, dataFDs, forwarding, health.local, nil)
		}
		if err != nil {
			return nil, err
		}
		undo = append(undo, ag.Close)
		s.agent, t.local, member = ag, ag, mem
		row := hosts.ServerHost{ID: fleet.LocalID, Version: cfg.Version, Started: time.Now()}
		if member != nil {
			row.BackboneAddress, row.BackboneMethod, row.BackboneKey = member.BackboneAddress.String(), member.BackboneMethod, member.BackboneKey.String()
		}
		if cfg.AgentListen != "" {
			row.TransitIP = model.TransitLocalHost.String()
		}
		hostReg.SetServer(row)
	}
	if cfg.AgentListen != "" {
		// Without a data plane of its own the server is the control plane of
		// the hosts that join; the zones no host serves realize nothing.
		var local fleet.Local = fleet.NoLocal{}
		if t.local != nil {
			local = t.local
		}
		t.fleetCfg = &fleet.Config{Local: local, Hosts: remoteHosts(hostReg), PairSecret: hostReg.PairSecret,
			RecordHealth: health.record, LocalBackbone: member, Logger: cfg.Logger}
	}
	self := replica{Name: replicaName(cfg, ln.Addr().String())}
	if cfg.AgentListen != "" {
		acfg := agentapi.ServerConfig{Listen: cfg.AgentListen, Advertise: cfg.AgentAdvertise, Fleet: t, Logger: cfg.Logger}
		// The leadership needs the listener's address; until it is there,
		// this replica does not lead.
		var lead atomic.Pointer[leadership]
		acfg.Leader = func() (bool, string) {
			l := lead.Load()
			if l == nil {
				return false, ""
			}
			ok, url := l.leading()
			// Leading, but its term's fleet not there yet (or gone): not yet.
			return ok && t.serving(), url
		}
		acfg.Replicas = func(ctx context.Context) []string {
			if l := lead.Load(); l != nil {
				return l.replicas(ctx)
			}
			return nil
		}
		if s.agents, err = agentapi.Start(ctx, hostReg, acfg); err != nil {
			return nil, err
		}
		undo = append(undo, s.agents.Close)
		self.Agent = agentURL(cfg, s.agents.Addr())
		s.lead = newLeadership(st, sharedStore(cfg), self, cfg.Logger)
		lead.Store(s.lead)
	} else {
		s.lead = newLeadership(st, sharedStore(cfg), self, cfg.Logger)
	}
	s.ready = t.ready
	go func() {
		defer close(s.done)
		s.lead.run(runCtx, t.run)
	}()
	if s.lead.el != nil && cfg.Dataplane == "netns" {
		cfg.Logger.Warn("this replica runs a data plane of its own on a shared store: the zones no host serves move with the leadership (run replicas with --dataplane none and `strait agent` for the zones; see the README's High availability)")
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.lead.watchLeader(runCtx, cfg.Logger)
	}()
	if s.lead.el != nil {
		// A replica that does not lead is ready once it knows another does.
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			for {
				if s.lead.other(runCtx) {
					t.once.Do(func() { close(t.ready) })
					return
				}
				select {
				case <-t.ready:
					return
				case <-runCtx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	go func() {
		if err := s.http.Serve(apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		select {
		case <-s.ready:
			s.log.Info("strait server ready", "listen", ln.Addr().String(), "data_dir", cfg.DataDir, "region", ctl.Region(), "dev", cfg.Dev, "dataplane", cfg.Dataplane, "forwarding", cfg.Forwarding,
				"replica", s.lead.state(runCtx))
		case <-runCtx.Done():
		}
	}()
	if cfg.Dataplane == "netns" && cfg.RelayCommand != nil {
		s.log.Info("descriptor budget (relayed connections and resolvers: the relay process's own, in relay.log)", "open_file_limit", fds.Limit(),
			"reserve", fds.Reserve(), "api_connections", apiLn.Cap(), "open_now", fds.Open())
	} else {
		s.log.Info("descriptor budget", "open_file_limit", fds.Limit(), "reserve", fds.Reserve(), "api_connections", apiLn.Cap(),
			"relayed_connections", dataFDs.Capacity()/2, "open_now", fds.Open())
	}
	return s, nil
}

// Addr is the address the API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL of the API.
func (s *Server) URL() string { return "http://" + s.Addr() }

// ConsoleURL is the web console's URL ("" when it is off).
func (s *Server) ConsoleURL() string {
	if s.consolePath == "" {
		return ""
	}
	return s.URL() + s.consolePath
}

// Handler is the API listener's HTTP handler (the APIs, the console, /healthz,
// /metrics).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// AgentAddr is the agent listener's address ("" when there is none).
func (s *Server) AgentAddr() string {
	if s.agents == nil {
		return ""
	}
	return s.agents.Addr()
}

// Hosts is the region's host registry.
func (s *Server) Hosts() *hosts.Registry { return s.hosts }

// Control gives in-process callers (tests, the native API) the control layer.
func (s *Server) Control() *control.Control { return s.ctl }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
	default:
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.Rev(ctx); err != nil {
		http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// Close stops serving, stops the reconciler and closes the store.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Shutdown waits for idle connections a client opened but never used; past the
	// grace period they are simply closed.
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	s.admin.close()
	// Stop leading (resign) before the agent listener closes: the other
	// replicas take a refusing listener for a dead leader.
	s.cancel()
	<-s.done
	s.bg.Wait()
	if s.agents != nil {
		s.agents.Close()
	}
	if s.agent != nil {
		s.agent.Close()
	}
	err := s.st.Close()
	s.lock.Close()
	return err
}
