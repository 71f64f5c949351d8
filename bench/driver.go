package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the size of a run: --quick shrinks every count for a smoke run.
type config struct {
	quick          bool
	out            string
	straitBin      string
	benchBin       string
	reps           int           // repetitions of figures 1–3 and 5's Describe rates
	dur            time.Duration // one bulk or connections/s measurement
	rrCount        int           // round trips per latency measurement
	idleConns      int           // figure 4
	idleReps       int
	cpEndpoints    int // figure 5
	describeDur    time.Duration
	failoverReps   int // figure 6
	scaleEndpoints int // figure 7
	scaleReps      int
	restartReps    int          // figure 9: repetitions of each mode over each path
	restartWorkers int          // figure 9's client workers
	restartHeld    int          // figure 9's established connections per path
	haEndpoints    int          // figure 10: endpoints timed on each control plane
	haDescribeReps int          // figure 10's repetitions of the Describe* rates
	haKills        int          // figure 10: kills of the leader that also leads etcd
	haKillsLease   int          // figure 10: kills of the leader while another replica leads etcd
	only           map[int]bool // figures to run; empty: all (see wants)
	hold           bool         // --hold: keep the topology up for manual runs, measure nothing
	soak           bool         // --soak: run the soak instead of the figures
	soakIdle       int
	soakWorkers    int
	soakPath       string // "kernel" or "relay"
	soakDur        time.Duration
	soakEvery      time.Duration
}

// fullConfig is the full run (about 15 minutes on 2 CPUs).
func fullConfig() config {
	return config{reps: 5, dur: 3 * time.Second, rrCount: 20000, idleConns: 9000, idleReps: 3, cpEndpoints: 50,
		describeDur: 3 * time.Second, failoverReps: 3, scaleEndpoints: 1000, scaleReps: 3,
		restartReps: 3, restartWorkers: 4, restartHeld: 20, haEndpoints: 30, haDescribeReps: 3, haKills: 5, haKillsLease: 3}
}

// quickConfig is the smoke run (about 2 minutes).
func quickConfig() config {
	return config{quick: true, reps: 2, dur: time.Second, rrCount: 3000, idleConns: 500, idleReps: 1, cpEndpoints: 5,
		describeDur: time.Second, failoverReps: 1, scaleEndpoints: 20, scaleReps: 1,
		restartReps: 1, restartWorkers: 4, restartHeld: 20, haEndpoints: 5, haDescribeReps: 1, haKills: 1, haKillsLease: 1}
}

// driver holds one run's processes and results.
type driver struct {
	cfg     config
	ctx     context.Context
	tmp     string
	srv     *straitServer
	topo    *topology
	hap     *haproxy
	paths   []path
	servers map[string]*proc // peer servers by name ("b:7000", "c:7002", …)
	res     *results
	hosts   *hostsBench     // figure 8's machines and agents
	planes  []*controlPlane // figure 10's control planes
}

// path is one way from a client to the peer server on instance B (or loopback).
type path struct {
	Name   string `json:"name"`
	Client string `json:"client"` // instance ID the client runs in; "" = the host
	Addr   string `json:"addr"`
}

// Path names, in table order.
const (
	pLoopback = "loopback"
	pDirect   = "direct"
	pStrait   = "strait (kernel)"     // the kernel path: no proxy process
	pRelay    = "strait (relay)"      // the same target, strait.relay.enabled
	pPPv2     = "strait+ppv2 (relay)" // PROXY v2 needs the relay
	pHAProxy  = "haproxy"
)

// runDriver is `strait-bench run`.
func runDriver(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a smoke run: few repetitions, small counts")
	out := fs.String("out", "", "output directory (default bench/results, or bench/results/quick with --quick)")
	strait := fs.String("strait", "bin/strait", "the strait binary")
	only := fs.String("only", "", "comma-separated figures to measure, e.g. 1,4 (figures 1–3 run together; default: all)")
	hold := fs.Bool("hold", false, "build the topology, print each path's peer command, and wait for Ctrl-C instead of measuring (for profiling)")
	soak := fs.Bool("soak", false, "run the soak instead of the figures: idle connections held through the endpoint and a loop of short connections, the server sampled (default output bench/results/soak)")
	soakIdle := fs.Int("soak-idle", 9000, "soak: idle connections held")
	soakWorkers := fs.Int("soak-workers", 4, "soak: workers opening short connections, one at a time each")
	soakDur := fs.Duration("soak-duration", 10*time.Minute, "soak: how long the short connections run")
	soakPath := fs.String("soak-path", "kernel", "soak: the path, kernel or relay")
	soakEvery := fs.Duration("soak-every", 5*time.Second, "soak: sampling interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("run as root: the data plane creates network namespaces")
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.out = *out
	cfg.hold = *hold
	cfg.soak, cfg.soakIdle, cfg.soakWorkers, cfg.soakDur, cfg.soakEvery, cfg.soakPath = *soak, *soakIdle, *soakWorkers, *soakDur, *soakEvery, *soakPath
	cfg.only = map[int]bool{}
	for _, f := range strings.Split(*only, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 10 {
			return fmt.Errorf("--only: %q is not a figure number 1–10", f)
		}
		cfg.only[n] = true
	}
	if cfg.out == "" {
		cfg.out = "bench/results"
		if *quick {
			cfg.out = "bench/results/quick"
		}
		if cfg.soak {
			cfg.out = "bench/results/soak"
		}
	}
	var err error
	if cfg.straitBin, err = filepath.Abs(*strait); err != nil {
		return err
	}
	if cfg.benchBin, err = os.Executable(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var runErr error
	if cfg.hold || cfg.soak || slices.ContainsFunc([]int{1, 2, 3, 4, 5, 6, 7, 9}, cfg.wants) {
		d := &driver{cfg: cfg, ctx: ctx, servers: map[string]*proc{}, res: newResults(cfg)}
		runErr = d.finish("latest", d.run(), d.cleanup)
	}
	if runErr == nil && !cfg.hold && !cfg.soak && cfg.wants(8) {
		// Figure 8 has a server, machines and results of its own: hosts.md.
		d := &driver{cfg: cfg, ctx: ctx, servers: map[string]*proc{}, res: newResults(cfg)}
		d.res.Title = "Strait benchmark results: across hosts (figure 8)"
		d.logf("figure 8 (across hosts)")
		err := d.hostsFigure()
		if err != nil && ctx.Err() != nil {
			err = errStopped
		}
		runErr = d.finish("hosts", err, d.hostsCleanup)
	}
	if runErr == nil && !cfg.hold && !cfg.soak && cfg.wants(10) {
		// Figure 10 has server replicas, an agent host and results of its own: ha.md.
		d := &driver{cfg: cfg, ctx: ctx, servers: map[string]*proc{}, res: newResults(cfg)}
		d.res.Title = "Strait benchmark results: the control plane across server replicas (figure 10)"
		d.logf("figure 10 (server replicas)")
		err := d.haFigure()
		if err != nil && ctx.Err() != nil {
			err = errStopped
		}
		runErr = d.finish("ha", err, d.haCleanup)
	}
	return runErr
}

// wants reports whether the run measures figure fig.
func (c config) wants(fig int) bool { return len(c.only) == 0 || c.only[fig] }

// finish runs cleanup after a run that ended with runErr, notes both in the
// results and writes them to BASE.md, BASE.json and the figures' SVGs.
func (d *driver) finish(base string, runErr error, cleanup func() error) error {
	if cerr := cleanup(); cerr != nil {
		d.logf("cleanup: %v", cerr)
		runErr = errors.Join(runErr, cerr)
	}
	if n, first := apiTransportErrors.n, apiTransportErrors.first; n > 0 {
		d.res.Notes = append(d.res.Notes, fmt.Sprintf("%d API requests failed to connect and were retried by the SDK after a backoff (first: %s)", n, first))
	}
	d.res.Finished = time.Now()
	d.res.LoadAvgEnd = loadAvg()
	if runErr != nil {
		d.res.Notes = append(d.res.Notes, "run incomplete: "+runErr.Error())
	}
	if len(d.res.Samples) > 0 {
		if err := writeReport(d.cfg.out, base, d.res); err != nil {
			return errors.Join(runErr, err)
		}
		d.logf("wrote %s", filepath.Join(d.cfg.out, base+".md"))
	}
	return runErr
}

// logf prints a timestamped progress line on stderr.
func (d *driver) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// run starts everything and measures each figure in turn.
func (d *driver) run() error {
	var err error
	if d.tmp, err = os.MkdirTemp("", "strait-bench-"); err != nil {
		return err
	}
	d.logf("starting strait server (data dir %s)", d.tmp)
	d.srv, err = startServer(d.ctx, d.cfg.straitBin, filepath.Join(d.tmp, "data"), filepath.Join(d.cfg.out, "server.log"))
	if err != nil {
		return err
	}
	if d.topo, err = buildTopology(d.ctx, d.srv.url, d.logf); err != nil {
		return fmt.Errorf("building the topology: %w", err)
	}
	if err := d.startServers(); err != nil {
		return err
	}
	if d.cfg.hold {
		return d.holdPaths()
	}
	if d.cfg.soak {
		return d.soak()
	}
	steps := []struct {
		figs []int
		name string
		fn   func() error
	}{
		{[]int{1, 2, 3}, "figures 1–3 (throughput, latency, connections/s)", d.dataFigures},
		{[]int{4}, "figure 4 (idle connections)", d.idleFigure},
		{[]int{5}, "figure 5 (control plane)", d.controlFigure},
		{[]int{6}, "figure 6 (failover)", d.failoverFigure},
		{[]int{7}, "figure 7 (scale)", d.scaleFigure},
		{[]int{9}, "figure 9 (restart of the server)", d.restartFigure},
	}
	for _, s := range steps {
		if len(d.cfg.only) > 0 && !slices.ContainsFunc(s.figs, func(f int) bool { return d.cfg.only[f] }) {
			continue
		}
		if d.ctx.Err() != nil {
			return errStopped
		}
		d.logf("%s", s.name)
		t0 := time.Now()
		if err := s.fn(); err != nil {
			if d.ctx.Err() != nil {
				return errStopped
			}
			return fmt.Errorf("%s: %w", s.name, err)
		}
		d.logf("%s done in %s", s.name, time.Since(t0).Round(time.Second))
	}
	return nil
}

// startServers starts the peer servers (B on every target port, C on the failover
// ports, one on loopback) and HAProxy, and sets up the paths.
func (d *driver) startServers() error {
	t := d.topo
	for _, s := range []struct{ name, inst, listen, id string }{
		{"b:7000", t.b, fmt.Sprintf(":%d", portPlain), "b"},
		{"b:7001", t.b, fmt.Sprintf(":%d", portPPv2), "b"},
		{"b:7002", t.b, fmt.Sprintf(":%d", portFailover), "b"},
		{"c:7002", t.c, fmt.Sprintf(":%d", portFailover), "c"},
		{"b:7003", t.b, fmt.Sprintf(":%d", portRelay), "b"},
		{"b:7004", t.b, fmt.Sprintf(":%d", portRelayFO), "b"},
		{"c:7004", t.c, fmt.Sprintf(":%d", portRelayFO), "c"},
		{"loopback", "", "127.0.0.1:0", "l"},
	} {
		if err := d.startPeerServer(s.name, s.inst, s.listen, s.id, s.listen == fmt.Sprintf(":%d", portPPv2)); err != nil {
			return err
		}
	}
	var err error
	hapDir := filepath.Join(d.tmp, "haproxy")
	if err := os.MkdirAll(hapDir, 0o755); err != nil {
		return err
	}
	listen := fmt.Sprintf("%s:%d", t.gatewayA, portHAProxy)
	d.hap, err = startHAProxy(d.srv.namespace(t.vpc), listen, fmt.Sprintf("%s:%d", t.bIP, portPlain), d.cfg.idleConns+200, hapDir)
	if err != nil {
		return err
	}
	if w := d.hap.warnings(); w != "" {
		d.res.Notes = append(d.res.Notes, "HAProxy said at start: "+w)
	}
	d.paths = []path{
		{pLoopback, "", d.res.loopbackAddr},
		{pDirect, t.a, fmt.Sprintf("%s:%d", t.bIP, portPlain)},
		{pStrait, t.client, fmt.Sprintf("%s:%d", t.endpointIP, portPlain)},
		{pRelay, t.client, fmt.Sprintf("%s:%d", t.endpointIP, portRelay)},
		{pPPv2, t.client, fmt.Sprintf("%s:%d", t.endpointIP, portPPv2)},
		{pHAProxy, t.a, listen},
	}
	d.res.Paths = d.paths
	// Every path carries a connect test before measuring.
	for _, p := range d.paths {
		var r cpsResult
		if err := runJSON(d.ctx, "check "+p.Name, d.peerArgv(p.Client, "cps", "--addr", p.Addr, "--conc", "1", "--duration", "200ms"), 30*time.Second, &r); err != nil {
			return fmt.Errorf("path %s: %w", p.Name, err)
		}
		if r.OK == 0 {
			return fmt.Errorf("path %s carries no connection: %v", p.Name, r.Errors)
		}
	}
	return nil
}

// startPeerServer runs `peer server` in an instance (or on the host) and waits
// until it listens.
func (d *driver) startPeerServer(name, inst, listen, id string, ppv2 bool) error {
	args := []string{"server", "--listen", listen, "--id", id}
	if ppv2 {
		args = append(args, "--proxy-v2")
	}
	p, err := startProc("peer server "+name, d.peerArgv(inst, args...), nil)
	if err != nil {
		return err
	}
	line, err := p.line(30 * time.Second)
	if err != nil {
		p.stop(time.Second)
		return err
	}
	go func() {
		for range p.lines {
		}
	}()
	d.servers[name] = p
	if inst == "" {
		var l struct{ Listening string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return fmt.Errorf("peer server %s: %q: %w", name, line, err)
		}
		d.res.loopbackAddr = l.Listening
	}
	return nil
}

// holdPaths prints the peer command line of every path and waits until the
// run is interrupted: the topology stays up for profiling by hand (perf, pprof)
// and is removed by the usual cleanup afterwards.
func (d *driver) holdPaths() error {
	fmt.Printf("strait server: %s (pid %d); HAProxy pid %d\n", d.srv.url, d.srv.pid(), d.hap.pid())
	for _, p := range d.paths {
		argv := d.peerArgv(p.Client, "rr", "--addr", p.Addr, "--count", strconv.Itoa(d.cfg.rrCount), "--size", strconv.Itoa(rrSize))
		fmt.Printf("%-20s %s\n", p.Name, strings.Join(argv, " "))
	}
	d.logf("holding the topology; Ctrl-C removes it")
	<-d.ctx.Done()
	return nil
}

// peerArgv is the command line of a peer role in an instance, or on the host.
func (d *driver) peerArgv(inst string, args ...string) []string {
	argv := append([]string{d.cfg.benchBin, "peer"}, args...)
	if inst == "" {
		return argv
	}
	return append([]string{d.cfg.straitBin, "exec", inst, "--"}, argv...)
}

// cleanup stops peers, HAProxy and the server, removes the data plane (strait
// down), the temporary directory, and checks no namespace of the run is left.
func (d *driver) cleanup() error {
	var srv *proc
	if d.srv != nil {
		srv = d.srv.proc
	}
	killAll(srv) // peers and HAProxy; the server gets its own graceful stop
	var errs []error
	if d.srv != nil {
		if err := d.srv.shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return errors.Join(errs...)
}
