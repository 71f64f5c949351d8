package dataplane

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// names connects n times and counts the greeting targets reached.
func names(t *testing.T, addr netip.AddrPort, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, c := greeting(t, addr)
		c.Close()
		got[name]++
	}
	return got
}

// Flows spread over the targets by hash.
func TestFlowHashSpreads(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var targets []Target
	for i, ip := range []string{"127.0.0.31", "127.0.0.32", "127.0.0.33"} {
		targets = append(targets, startTarget(t, fmt.Sprint("t", i), ip, modeGreet).asTarget("us-east-1a"))
	}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: targets}))
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	got := names(t, addr, 90)
	for _, n := range []string{"t0", "t1", "t2"} {
		if got[n] < 5 {
			t.Fatalf("target %s got %d of 90 connections: %v", n, got[n], got)
		}
	}
}

// Without cross-zone load balancing a node picks targets of its zone and of
// zone "all", dialling from its own address; with it, any target.
func TestZones(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.34", modeGreet)
	b := startTarget(t, "b", "127.0.0.35", modeGreet)
	all := startTarget(t, "all", "127.0.0.36", modeGreet)
	g := TargetGroup{Targets: []Target{a.asTarget("us-east-1a"), b.asTarget("us-east-1b"), all.asTarget("all")}}
	nodes := map[string]string{"us-east-1a": "127.0.0.21", "us-east-1b": "127.0.0.22"}
	r.p.Configure(oneLB(nodes, false, g))
	inA := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	inB := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1b", LoadBalancer: testLB, Port: 80})
	inC := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1c", LoadBalancer: testLB, Port: 80}) // no node there

	check := func(addr netip.AddrPort, want ...string) {
		t.Helper()
		got := names(t, addr, 40)
		for n := range got {
			if !strings.Contains(strings.Join(want, ","), n) {
				t.Fatalf("reached %s; want only %v (got %v)", n, want, got)
			}
		}
		for _, n := range want {
			if got[n] == 0 {
				t.Fatalf("never reached %s; got %v", n, got)
			}
		}
	}
	check(inA, "a", "all")
	check(inB, "b", "all")
	check(inC, "a", "all") // any node: the first one, in us-east-1a
	drain(a.remotes)
	drain(b.remotes)
	names(t, inA, 5)
	names(t, inB, 5)
	for _, src := range drain(a.remotes) {
		if src.Addr() != netip.MustParseAddr("127.0.0.21") {
			t.Fatalf("target a saw %v, want the us-east-1a node 127.0.0.21", src)
		}
	}
	for _, src := range drain(b.remotes) {
		if src.Addr() != netip.MustParseAddr("127.0.0.22") {
			t.Fatalf("target b saw %v, want the us-east-1b node 127.0.0.22", src)
		}
	}

	r.p.Configure(oneLB(nodes, true, g))
	check(inA, "a", "b", "all")
	check(inB, "a", "b", "all")
}

// drain empties a channel of remote addresses, returning them.
func drain(ch chan netip.AddrPort) []netip.AddrPort {
	var out []netip.AddrPort
	for {
		select {
		case a := <-ch:
			out = append(out, a)
		default:
			return out
		}
	}
}

// When every candidate is unhealthy, connections still go to them (fail open);
// once one is healthy, only it gets them.
func TestFailOpen(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.37", modeGreet)
	b := startTarget(t, "b", "127.0.0.38", modeGreet)
	hcAddr := freeAddr(t, "127.0.0.37") // health check port: nothing listens there (yet)
	hc := HealthCheck{Enabled: true, Protocol: "TCP", Port: hcAddr.Port(), Interval: 50 * time.Millisecond, Timeout: waitLong, HealthyThreshold: 2, UnhealthyThreshold: 2}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{a.asTarget("us-east-1a"), b.asTarget("us-east-1a")}, HealthCheck: hc}))
	r.reports.wait(t, a.asTarget("").ID, "unhealthy")
	r.reports.wait(t, b.asTarget("").ID, "unhealthy")
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	if got := names(t, addr, 40); got["a"] == 0 || got["b"] == 0 {
		t.Fatalf("fail-open should use both unhealthy targets: %v", got)
	}

	startTargetAt(t, hcAddr)
	r.reports.wait(t, a.asTarget("").ID, "healthy")
	if got := names(t, addr, 40); got["a"] != 40 {
		t.Fatalf("only the healthy target should get connections: %v", got)
	}
}

// startTargetAt listens on a given address (an echo server).
func startTargetAt(t *testing.T, a netip.AddrPort) *testTarget {
	t.Helper()
	tt := &testTarget{addr: a, remotes: make(chan netip.AddrPort, 1024), conns: map[net.Conn]bool{}}
	tt.revive(t)
	t.Cleanup(tt.stop)
	return tt
}

// A target that refuses connections is skipped: the client reaches the other.
func TestDialFailover(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.39", modeGreet)
	dead := freeAddr(t, "127.0.0.40")
	hole := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.41"), 9)
	r.net.setBlackhole(hole, true)
	// Long enough that a loaded machine still connects to the live target in time,
	// short enough that the black hole does not slow the test down much.
	r.p.dialTimeout = 400 * time.Millisecond
	g := TargetGroup{Targets: []Target{a.asTarget("us-east-1a"), {ID: "127.0.0.40", Addr: dead, AZ: "us-east-1a"}, {ID: "127.0.0.41", Addr: hole, AZ: "us-east-1a"}}}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, g))
	e := Entry{EndpointID: "vpce-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80}
	addr := r.serve(t, "127.0.0.1", e)
	if got := names(t, addr, 30); got["a"] != 30 {
		t.Fatalf("want every connection on the live target: %v", got)
	}
	if st := r.p.EndpointStats("vpce-1"); st.Rejected != 0 || st.NewConnections != 30 {
		t.Fatalf("stats %+v; want 30 new, 0 rejected", st)
	}

	// Without a live target the client is closed and counted as rejected.
	a.kill()
	c := dialFrom(t, "127.0.0.1", addr)
	waitClosed(t, c)
	eventually(t, "rejection to be counted", func() bool { return r.p.EndpointStats("vpce-1").Rejected == 1 })
}

// Connections are accepted on one goroutine, which never waits for a
// handshake: while a connection waits for a target that does not answer,
// later connections on the same listener reach the live target.
func TestPendingHandshakeDoesNotBlockAccept(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.42", modeGreet)
	hole := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.43"), 9)
	r.net.setBlackhole(hole, true)
	r.p.dialTimeout = time.Hour // the dial to the hole stays pending until the end
	g := TargetGroup{Targets: []Target{a.asTarget("us-east-1a"), {ID: "127.0.0.43", Addr: hole, AZ: "us-east-1a"}}}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, g))
	addr := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	// connect opens a client connection and reports whether its (first) dial
	// went to the hole; the other ones must be greeted by a.
	connect := func() (toHole bool) {
		before := r.net.count()
		c := dialFrom(t, "127.0.0.1", addr)
		eventually(t, "the connection's dial", func() bool { return r.net.count() > before })
		r.net.mu.Lock()
		toHole = r.net.dials[before].to == hole
		r.net.mu.Unlock()
		if toHole {
			return true // left open, waiting
		}
		c.SetReadDeadline(time.Now().Add(waitLong))
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "a\n" {
			t.Fatalf("connection to a: %q, %v", line, err)
		}
		return false
	}
	held := 0
	for i := 0; held == 0; i++ {
		if i == 64 {
			t.Fatal("64 connections and none went to the hole")
		}
		if connect() {
			held++
		}
	}
	for served := 0; served < 3; {
		if held == 64 {
			t.Fatal("64 connections went to the hole and none to a")
		}
		if connect() {
			held++
		} else {
			served++
		}
	}
}

// Two healthy targets, one killed: no client connection fails, and the dead one
// turns unhealthy.
func TestTargetKilledNoClientFailure(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.42", modeGreet)
	b := startTarget(t, "b", "127.0.0.43", modeGreet)
	hc := HealthCheck{Enabled: true, Protocol: "TCP", Interval: 50 * time.Millisecond, Timeout: waitLong, HealthyThreshold: 2, UnhealthyThreshold: 2}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{a.asTarget("us-east-1a"), b.asTarget("us-east-1a")}, HealthCheck: hc}))
	r.reports.wait(t, a.asTarget("").ID, "healthy")
	r.reports.wait(t, b.asTarget("").ID, "healthy")
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	counts := map[string]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				name, err := oneRequest(addr)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					counts[name]++
				}
				mu.Unlock()
			}
		}()
	}
	served := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return counts["a"], counts["b"]
	}
	eventually(t, "both targets to serve", func() bool { na, nb := served(); return na > 0 && nb > 0 })
	a.kill()
	r.reports.wait(t, a.asTarget("").ID, "unhealthy")
	_, nb := served()
	eventually(t, "b to serve 20 more connections", func() bool { _, n := served(); return n >= nb+20 })
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d client connections failed, first: %v", len(failures), failures[0])
	}
	if counts["a"] == 0 || counts["b"] == 0 {
		t.Fatalf("both targets should have served before the kill: %v", counts)
	}
	if got := names(t, addr, 20); got["b"] != 20 {
		t.Fatalf("after the kill every connection should reach b: %v", got)
	}
}

// oneRequest connects, reads the greeting and checks one echo.
func oneRequest(addr netip.AddrPort) (string, error) {
	c, err := net.DialTimeout("tcp", addr.String(), waitLong)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLong))
	br := bufio.NewReader(c)
	name, err := br.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("greeting: %w", err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		return "", err
	}
	buf := make([]byte, 4)
	if _, err := br.Read(buf); err != nil || string(buf) != "ping" {
		return "", fmt.Errorf("echo %q: %v", buf, err)
	}
	return strings.TrimSuffix(name, "\n"), nil
}

// A draining target gets no new connection but keeps its established ones until
// it leaves the configuration, which closes them.
func TestDraining(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := startTarget(t, "a", "127.0.0.44", modeGreet)
	b := startTarget(t, "b", "127.0.0.45", modeGreet)
	ta, tb := a.asTarget("us-east-1a"), b.asTarget("us-east-1a")
	nodes := map[string]string{"us-east-1a": "127.0.0.21"}
	r.p.Configure(oneLB(nodes, false, TargetGroup{Targets: []Target{ta, tb}}))
	addr := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-d", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	var onA, onB []*net.TCPConn
	for i := 0; i < 60 && (len(onA) == 0 || len(onB) == 0); i++ {
		name, c := greeting(t, addr)
		if name == "a" {
			onA = append(onA, c)
		} else {
			onB = append(onB, c)
		}
	}
	if len(onA) == 0 || len(onB) == 0 {
		t.Fatal("could not get connections on both targets")
	}
	ta.Draining = true
	r.p.Configure(oneLB(nodes, false, TargetGroup{Targets: []Target{ta, tb}}))
	if got := names(t, addr, 20); got["b"] != 20 {
		t.Fatalf("draining target got new connections: %v", got)
	}
	if err := echoOnce(onA[0], "still here"); err != nil {
		t.Fatalf("established connection to the draining target broke: %v", err)
	}
	r.p.Configure(oneLB(nodes, false, TargetGroup{Targets: []Target{tb}}))
	for _, c := range onA {
		waitClosed(t, c)
	}
	if err := echoOnce(onB[0], "unaffected"); err != nil {
		t.Fatalf("connection to the remaining target broke: %v", err)
	}
	eventually(t, "active connections to drop", func() bool { return r.p.EndpointStats("vpce-d").ActiveConnections == int64(len(onB)) })
}

// Removing the load balancer (or its listener) closes its connections.
func TestReconfigureRemovesListener(t *testing.T) {
	t.Parallel()
	r, tt, e := echoRig(t, modeEcho)
	addr := r.serve(t, "127.0.0.1", e)
	c1 := dialFrom(t, "127.0.0.1", addr)
	if err := echoOnce(c1, "x"); err != nil {
		t.Fatal(err)
	}
	cfg := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}})
	cfg.LoadBalancers[0].Listeners[0].Port = 8080
	r.p.Configure(cfg)
	waitClosed(t, c1)
	// A connection to the removed port is rejected.
	c2 := dialFrom(t, "127.0.0.1", addr)
	waitClosed(t, c2)

	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}}))
	c3 := dialFrom(t, "127.0.0.1", addr)
	if err := echoOnce(c3, "y"); err != nil {
		t.Fatal(err)
	}
	r.p.Configure(Config{})
	waitClosed(t, c3)
}

// Close ends Serve, the connections and the checks.
func TestClose(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	ln, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.p.Serve(ln, e) }()
	c := dialFrom(t, "127.0.0.1", ln.Addr())
	if err := echoOnce(c, "x"); err != nil {
		t.Fatal(err)
	}
	r.p.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Serve still running after Close")
	}
	waitClosed(t, c)
}

// resetTarget accepts connections and resets them: with readFirst after
// reading one byte, else at once.
func resetTarget(t *testing.T, ip string, readFirst bool) netip.AddrPort {
	t.Helper()
	addr, _ := countingResetTarget(t, ip, readFirst)
	return addr
}

// countingResetTarget is resetTarget that also counts the connections it reset.
func countingResetTarget(t *testing.T, ip string, readFirst bool) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	var resets atomic.Int64
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if readFirst {
				c.Read(make([]byte, 1))
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			resets.Add(1)
		}
	}()
	return addrPort(ln.Addr()), &resets
}

// A target that resets a connection before any byte moved is skipped like a
// failed dial; once the client's bytes went to it, the reset reaches the client.
func TestResetBeforeFirstByte(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	good := startTarget(t, "good", "127.0.0.46", modeGreet)
	rst := resetTarget(t, "127.0.0.47", false)
	g := TargetGroup{Targets: []Target{good.asTarget("us-east-1a"), {ID: "rst", Addr: rst, AZ: "us-east-1a"}}}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, g))
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	for i := range 30 {
		if name, err := oneRequest(addr); err != nil || name != "good" {
			t.Fatalf("connection %d: %q, %v", i, name, err)
		}
	}

	// The client speaks first: its byte reaches the resetting target, which is
	// then final.
	rstRead := resetTarget(t, "127.0.0.48", true)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: "rst", Addr: rstRead, AZ: "us-east-1a"}, good.asTarget("all")}}))
	failed := 0
	for range 30 {
		c := dialFrom(t, "127.0.0.1", addr)
		c.SetDeadline(time.Now().Add(waitLong))
		c.Write([]byte("x"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			failed++
		} else if line != "good\n" {
			t.Fatalf("read %q", line)
		}
		c.Close()
	}
	if failed == 0 {
		t.Fatal("no connection reached the target that resets after the first byte")
	}
}
