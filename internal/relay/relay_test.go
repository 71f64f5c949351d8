package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/relay"
	"strait/internal/testenv"
)

// relayProcess runs relay.Serve for dir in this process, as `strait relay`
// would, until the test ends or it is stopped; wait returns its error.
func relayProcess(t *testing.T, dir string) (wait func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		errc <- relay.Serve(context.Background(), relay.ServeConfig{DataDir: dir, Version: "test",
			Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	}()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-errc })
		return err
	}
	t.Cleanup(func() {
		relay.Stop(context.Background(), dir)
		wait()
	})
	return wait
}

// attach attaches a client to dir's relay, waiting until it answers.
func attach(t *testing.T, dir string, report dataplane.HealthReport) *relay.Client {
	t.Helper()
	var c *relay.Client
	testenv.Eventually(t, time.Minute, "the relay answering", func() (err error) {
		c, err = relay.Attach(context.Background(), relay.ProcessConfig{DataDir: dir, Report: report})
		return err
	})
	t.Cleanup(c.Close)
	return c
}

// healthSeen collects health reports.
type healthSeen struct {
	mu   sync.Mutex
	seen map[string]model.TargetHealth
}

func (h *healthSeen) record(_ string, tg dataplane.Target, th model.TargetHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]model.TargetHealth{}
	}
	h.seen[tg.ID] = th
}

func (h *healthSeen) get(id string) (model.TargetHealth, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	th, ok := h.seen[id]
	return th, ok
}

// fixture is a data directory whose namespaces (tag) hold a VPC with two
// subnets: a load balancer node's address in each (nodes[0], nodes[1]) and
// a target answering "db <client>" on 10.0.1.20:80.
type fixture struct {
	dir, tag string
	host     *netns.Host
	v        netns.VPC
	nodes    []netns.ENI
	cfg      dataplane.Config // the load balancer "lb" on port 80 to the target group "tg"
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testenv.RequireRoot(t)
	f := &fixture{dir: t.TempDir()}
	f.tag = netns.TagFor(f.dir)
	testenv.RegisterDataplane(t, f.tag)
	t.Cleanup(func() { netns.Down(f.tag) })
	var err error
	if f.host, err = netns.NewHost(f.tag, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	f.v = netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, f.host, f.v)
	eni := func(i int, ip string) netns.ENI {
		return netns.ENI{ID: fmt.Sprintf("eni-%d", i), SubnetID: f.v.Subnets[i%2].ID, AZ: f.v.Subnets[i%2].AZ, IP: netip.MustParseAddr(ip)}
	}
	f.nodes = []netns.ENI{eni(0, "10.0.1.10"), eni(1, "10.0.2.10")}
	if err := f.host.SetAddresses(f.v.ID, append([]netns.ENI{eni(2, "10.0.1.20")}, f.nodes...), f.v); err != nil {
		t.Fatal(err)
	}
	netnstest.Listen(t, f.host, f.v.ID, "10.0.1.20:80", "db")
	f.cfg = dataplane.Config{
		LoadBalancers: []dataplane.LoadBalancer{{ARN: "lb", VpcID: f.v.ID, ServiceID: "vpce-svc-1",
			Nodes:     []dataplane.Node{{AZ: f.nodes[0].AZ, IP: f.nodes[0].IP}, {AZ: f.nodes[1].AZ, IP: f.nodes[1].IP}},
			Listeners: []dataplane.Listener{{Port: 80, TargetGroup: "tg"}}}},
		TargetGroups: []dataplane.TargetGroup{{ARN: "tg", VpcID: f.v.ID,
			Targets:     []dataplane.Target{{ID: "10.0.1.20", Addr: netip.MustParseAddrPort("10.0.1.20:80"), AZ: f.nodes[0].AZ}},
			HealthCheck: dataplane.HealthCheck{Enabled: true, Protocol: "TCP", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}}},
	}
	return f
}

// entry is the listener entry of endpoint vpce-1 on node 0's address.
func (f *fixture) entry() (netip.AddrPort, dataplane.Entry) {
	return netip.AddrPortFrom(f.nodes[0].IP, 80), dataplane.Entry{EndpointID: "vpce-1", ServiceID: "vpce-svc-1", AZ: f.nodes[0].AZ, LoadBalancer: "lb", Port: 80}
}

// resolver is the VPC's resolver address.
func (f *fixture) resolver() netip.AddrPort { return netip.MustParseAddrPort("10.0.0.2:53") }

// ask connects through the relay's listener and checks the target's answer.
func (f *fixture) ask(t *testing.T) {
	t.Helper()
	addr, _ := f.entry()
	netnstest.MustAsk(t, f.host, f.v.ID, "", addr.String(), "db 10.0.1.10:*")
}

// listening reports whether a socket listens on addr in the VPC's namespace
// (proto "t": TCP, "u": UDP).
func (f *fixture) listening(t *testing.T, proto string, addr netip.AddrPort) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", f.host.Namespace(f.v.ID), "ss", "-Hln"+proto).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	return strings.Contains(string(out), addr.String())
}

// setUp gives c the fixture's routing, the endpoint's listener and the
// resolver.
func (f *fixture) setUp(t *testing.T, c *relay.Client) {
	t.Helper()
	c.Configure(f.cfg)
	addr, e := f.entry()
	if errs, err := c.Listen(f.v.ID, []netip.AddrPort{addr}, []dataplane.Entry{e}); err != nil || errs[0] != nil {
		t.Fatalf("Listen: %v %v", errs, err)
	}
	if err := c.SetResolver(f.v.ID, f.resolver(), map[string][]netip.Addr{"db.example.test": {netip.MustParseAddr("10.0.1.20")}}); err != nil {
		t.Fatal(err)
	}
}

// A relay process keeps its listeners, resolvers, routing, counters and
// target health when its client goes: the next client adopts the listeners,
// learns every target's health, and counts only the traffic after it
// attached; the relay's metrics are scraped through the client.
func TestRelayOutlivesItsClient(t *testing.T) {
	f := newFixture(t)
	relayProcess(t, f.dir)
	var first healthSeen
	a := attach(t, f.dir, first.record)
	f.setUp(t, a)
	f.ask(t)
	if s := a.EndpointStats([]string{"vpce-1"})["vpce-1"]; s.NewConnections != 1 {
		t.Fatalf("the first client's count: %+v", s)
	}
	testenv.Eventually(t, time.Minute, "the target's first health report", func() error {
		if _, ok := first.get("10.0.1.20"); !ok {
			return errors.New("none yet")
		}
		return nil
	})
	a.Close()

	var second healthSeen
	b := attach(t, f.dir, second.record)
	addr, e := f.entry()
	if ls := b.Listening(); len(ls) != 1 || ls[0].Addr != addr || ls[0].Entry != e || ls[0].VPC != f.v.ID {
		t.Fatalf("the second client's listeners: %+v", ls)
	}
	if !f.listening(t, "t", addr) || !f.listening(t, "u", f.resolver()) {
		t.Fatal("the listener or the resolver is gone with the first client")
	}
	if n, ok := b.Node("lb", f.nodes[1].AZ); !ok || n.IP != f.nodes[1].IP {
		t.Fatalf("the routing is gone with the first client: node %v %v", n, ok)
	}
	testenv.Eventually(t, time.Minute, "the target's health, told to the second client", func() error {
		th, ok := second.get("10.0.1.20")
		if !ok {
			return errors.New("not told")
		}
		// Told at attach, or changed since: the relay's checks go on.
		if want, _ := first.get("10.0.1.20"); th.State != want.State && th.State != "healthy" {
			return fmt.Errorf("%+v, want %+v", th, want)
		}
		return nil
	})
	if eps, svcs := b.Counted(); !slices.Contains(eps, "vpce-1") || !slices.Contains(svcs, "vpce-svc-1") {
		t.Fatalf("the second client is not told what the relay counts (for its agent to forget what its state lacks): %v %v", eps, svcs)
	}
	if s := b.EndpointStats([]string{"vpce-1"})["vpce-1"]; s.NewConnections != 0 {
		t.Fatalf("the second client counts the first one's connection again: %+v", s)
	}
	f.ask(t)
	if s := b.EndpointStats([]string{"vpce-1"})["vpce-1"]; s.NewConnections != 1 {
		t.Fatalf("the second client's count: %+v", s)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.Collector())
	names := gathered(t, reg)
	for _, want := range []string{"strait_dataplane_refused_connections_total", "strait_relay_process_open_fds", "strait_relay_go_goroutines"} {
		if !names[want] {
			t.Errorf("metric %s not scraped through the client (got %v)", want, names)
		}
	}
	// The same listener again is no error and changes nothing; another
	// entry reopens it.
	if errs, err := b.Listen(f.v.ID, []netip.AddrPort{addr}, []dataplane.Entry{e}); err != nil || errs[0] != nil {
		t.Fatalf("the same listener again: %v %v", errs, err)
	}
	e2 := e
	e2.EndpointID = "vpce-2"
	if errs, err := b.Listen(f.v.ID, []netip.AddrPort{addr}, []dataplane.Entry{e2}); err != nil || errs[0] != nil {
		t.Fatalf("the listener with another entry: %v %v", errs, err)
	}
	if ls := b.Listening(); len(ls) != 1 || ls[0].Entry != e2 {
		t.Fatalf("after another entry: %+v", ls)
	}
	b.Unlisten(f.v.ID, addr)
	if f.listening(t, "t", addr) {
		t.Fatal("Unlisten left the listener open")
	}
	b.ForgetVPC(f.v.ID)
	if f.listening(t, "u", f.resolver()) {
		t.Fatal("ForgetVPC left the resolver running")
	}
}

// The client's answers of which targets are eligible follow target health
// (the agent asks them on every pass; the client asks the relay again only
// after a change).
func TestEligibleFollowsHealth(t *testing.T) {
	f := newFixture(t)
	// A second target, which stops answering.
	if err := f.host.SetAddresses(f.v.ID, []netns.ENI{
		{ID: "eni-t2", SubnetID: f.v.Subnets[0].ID, AZ: f.v.Subnets[0].AZ, IP: netip.MustParseAddr("10.0.1.21")},
		{ID: "eni-t", SubnetID: f.v.Subnets[0].ID, AZ: f.v.Subnets[0].AZ, IP: netip.MustParseAddr("10.0.1.20")},
		f.nodes[0], f.nodes[1]}, f.v); err != nil {
		t.Fatal(err)
	}
	ln, err := f.host.Listen(f.v.ID, netip.MustParseAddrPort("10.0.1.21:80"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg := f.cfg
	tg := cfg.TargetGroups[0]
	tg.Targets = append(slices.Clone(tg.Targets), dataplane.Target{ID: "10.0.1.21", Addr: netip.MustParseAddrPort("10.0.1.21:80"), AZ: f.nodes[0].AZ})
	cfg.TargetGroups = []dataplane.TargetGroup{tg}
	relayProcess(t, f.dir)
	var seen healthSeen
	c := attach(t, f.dir, seen.record)
	c.Configure(cfg)
	both := func() error {
		if got := c.Eligible("lb", f.nodes[0].AZ, 80); len(got) != 2 {
			return fmt.Errorf("eligible %v", got)
		}
		return nil
	}
	testenv.Eventually(t, time.Minute, "both targets healthy and eligible", func() error {
		for _, id := range []string{"10.0.1.20", "10.0.1.21"} {
			if th, _ := seen.get(id); th.State != "healthy" {
				return fmt.Errorf("%s %+v", id, th)
			}
		}
		return both()
	})
	ln.Close()
	testenv.Eventually(t, time.Minute, "the silent target no longer eligible", func() error {
		got := c.Eligible("lb", f.nodes[0].AZ, 80)
		if len(got) != 1 || got[0] != netip.MustParseAddrPort("10.0.1.20:80") {
			return fmt.Errorf("eligible %v", got)
		}
		return nil
	})
}

// A relay process that is replaced (it died, another started) gets the
// routing, listeners and resolvers its predecessor had from the client, and
// the client's Generation changes.
func TestClientReplaysToANewRelay(t *testing.T) {
	f := newFixture(t)
	wait := relayProcess(t, f.dir)
	c := attach(t, f.dir, nil)
	f.setUp(t, c)
	gen := c.Generation()
	if _, err := relay.Stop(context.Background(), f.dir); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("the first relay: %v", err)
	}
	addr, _ := f.entry()
	if f.listening(t, "t", addr) || f.listening(t, "u", f.resolver()) {
		t.Fatal("the stopped relay's listener or resolver is still open")
	}
	relayProcess(t, f.dir)
	testenv.Eventually(t, time.Minute, "the new relay routing, listening and resolving", func() error {
		if c.Generation() == gen {
			return errors.New("still the first relay's generation")
		}
		if !f.listening(t, "t", addr) || !f.listening(t, "u", f.resolver()) {
			return errors.New("not listening")
		}
		return nil
	})
	f.ask(t)
}

// A second relay process for a data directory refuses to start.
func TestOneRelayPerDataDirectory(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	testenv.RegisterDataplane(t, netns.TagFor(dir))
	relayProcess(t, dir)
	attach(t, dir, nil) // the first answers
	err := relay.Serve(context.Background(), relay.ServeConfig{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("a second relay: %v", err)
	}
	if stopped, err := relay.Stop(context.Background(), dir); !stopped || err != nil {
		t.Fatalf("Stop: %v %v", stopped, err)
	}
	if stopped, err := relay.Stop(context.Background(), dir); stopped || err != nil {
		t.Fatalf("Stop again: %v %v", stopped, err)
	}
}

func gathered(t *testing.T, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}
