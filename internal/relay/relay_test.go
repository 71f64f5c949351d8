package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
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

// A relay process keeps its listeners, routing and target health when its
// client goes: the next client adopts the listeners and learns every
// target's health; the relay's metrics are scraped through the client.
func TestRelayOutlivesItsClient(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	tag := netns.TagFor(dir)
	testenv.RegisterDataplane(t, tag)
	t.Cleanup(func() { netns.Down(tag) })
	host, err := netns.NewHost(tag, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, host, v)
	eni := netns.ENI{ID: "eni-1", SubnetID: v.Subnets[0].ID, AZ: v.Subnets[0].AZ, IP: netip.MustParseAddr("10.0.1.10")}
	if err := host.SetAddresses(v.ID, []netns.ENI{eni}, v); err != nil {
		t.Fatal(err)
	}
	relayProcess(t, dir)

	var first healthSeen
	a := attach(t, dir, first.record)
	// A target nobody answers for: the checks report it, first as initial.
	cfg := dataplane.Config{
		LoadBalancers: []dataplane.LoadBalancer{{ARN: "lb", VpcID: v.ID, Nodes: []dataplane.Node{{AZ: eni.AZ, IP: eni.IP}},
			Listeners: []dataplane.Listener{{Port: 80, TargetGroup: "tg"}}}},
		TargetGroups: []dataplane.TargetGroup{{ARN: "tg", VpcID: v.ID,
			Targets:     []dataplane.Target{{ID: "10.0.1.20", Addr: netip.MustParseAddrPort("10.0.1.20:80"), AZ: eni.AZ}},
			HealthCheck: dataplane.HealthCheck{Enabled: true, Protocol: "TCP", Interval: time.Hour, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}}},
	}
	a.Configure(cfg)
	addr := netip.AddrPortFrom(eni.IP, 80)
	entry := dataplane.Entry{AZ: eni.AZ, LoadBalancer: "lb", Port: 80}
	errs, err := a.Listen(v.ID, []netip.AddrPort{addr}, []dataplane.Entry{entry})
	if err != nil || errs[0] != nil {
		t.Fatalf("Listen: %v %v", errs, err)
	}
	testenv.Eventually(t, time.Minute, "the target's first health report", func() error {
		if _, ok := first.get("10.0.1.20"); !ok {
			return errors.New("none yet")
		}
		return nil
	})
	a.Close()

	var second healthSeen
	b := attach(t, dir, second.record)
	if ls := b.Listening(); len(ls) != 1 || ls[0].Addr != addr || ls[0].Entry != entry || ls[0].VPC != v.ID {
		t.Fatalf("the second client's listeners: %+v", ls)
	}
	if !listening(t, tag, v.ID, addr) {
		t.Fatal("the listener is gone with the first client")
	}
	if n, ok := b.Node("lb", eni.AZ); !ok || n.IP != eni.IP {
		t.Fatalf("the routing is gone with the first client: node %v %v", n, ok)
	}
	testenv.Eventually(t, time.Minute, "the target's health, told to the second client", func() error {
		th, ok := second.get("10.0.1.20")
		want, _ := first.get("10.0.1.20")
		if !ok || th.State != want.State {
			return fmt.Errorf("%+v, want %+v", th, want)
		}
		return nil
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.Collector())
	names := gathered(t, reg)
	for _, want := range []string{"strait_dataplane_refused_connections_total", "strait_relay_process_open_fds", "strait_relay_go_goroutines"} {
		if !names[want] {
			t.Errorf("metric %s not scraped through the client (got %v)", want, names)
		}
	}
	b.Unlisten(v.ID, addr)
	if listening(t, tag, v.ID, addr) {
		t.Fatal("Unlisten left the listener open")
	}
}

// A relay process that is replaced (it died, another started) gets the
// routing and listeners its predecessor had from the client.
func TestClientReplaysToANewRelay(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	tag := netns.TagFor(dir)
	testenv.RegisterDataplane(t, tag)
	t.Cleanup(func() { netns.Down(tag) })
	host, err := netns.NewHost(tag, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, host, v)
	enis := []netns.ENI{
		{ID: "eni-1", SubnetID: v.Subnets[0].ID, AZ: v.Subnets[0].AZ, IP: netip.MustParseAddr("10.0.1.10")},
		{ID: "eni-2", SubnetID: v.Subnets[1].ID, AZ: v.Subnets[1].AZ, IP: netip.MustParseAddr("10.0.2.10")},
	}
	if err := host.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	wait := relayProcess(t, dir)
	c := attach(t, dir, nil)
	c.Configure(dataplane.Config{LoadBalancers: []dataplane.LoadBalancer{{ARN: "lb", VpcID: v.ID,
		Nodes: []dataplane.Node{{AZ: enis[0].AZ, IP: enis[0].IP}, {AZ: enis[1].AZ, IP: enis[1].IP}}}}})
	addr := netip.AddrPortFrom(enis[0].IP, 80)
	if errs, err := c.Listen(v.ID, []netip.AddrPort{addr}, []dataplane.Entry{{AZ: enis[0].AZ, LoadBalancer: "lb", Port: 80}}); err != nil || errs[0] != nil {
		t.Fatalf("Listen: %v %v", errs, err)
	}
	if _, err := relay.Stop(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("the first relay: %v", err)
	}
	if listening(t, tag, v.ID, addr) {
		t.Fatal("the stopped relay's listener is still open")
	}
	relayProcess(t, dir)
	// Node of the second zone was never asked of the first relay: only the
	// new one's routing answers it.
	testenv.Eventually(t, time.Minute, "the new relay routing and listening", func() error {
		if n, ok := c.Node("lb", enis[1].AZ); !ok || n.IP != enis[1].IP {
			return fmt.Errorf("node %v %v", n, ok)
		}
		if !listening(t, tag, v.ID, addr) {
			return errors.New("not listening")
		}
		return nil
	})
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

// listening reports whether a socket listens on addr in the VPC's namespace.
func listening(t *testing.T, tag, vpc string, addr netip.AddrPort) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "strait-"+tag+"-"+vpc, "ss", "-Htln").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	return strings.Contains(string(out), addr.String())
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
