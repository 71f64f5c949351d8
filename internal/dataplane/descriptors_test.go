package dataplane

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// shareOf is a share of descriptors with a fixed capacity (fdbudget.Pool
// counts the process's real descriptors, which a unit test does not control).
type shareOf struct {
	mu        sync.Mutex
	cap, held int
}

func (s *shareOf) Take(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held+n > s.cap {
		return false
	}
	s.held += n
	return true
}

func (s *shareOf) Give(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held -= n
}

func (s *shareOf) holding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// logBuffer is a concurrency-safe buffer for a text logger.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rigWith is a rig whose proxy has a descriptor share and logs into logs.
func rigWith(t *testing.T, share Descriptors, logs *logBuffer) *rig {
	r := &rig{net: &testNet{}, reports: &reportLog{}, reg: prometheus.NewRegistry()}
	r.p = New(Options{Dial: r.net.dial, Report: r.reports.report, Logger: slog.New(slog.NewTextHandler(logs, nil)), Registerer: r.reg, Descriptors: share})
	t.Cleanup(r.p.Close)
	return r
}

// TestRefusedAtTheShare: with a share for two connections (five descriptors), the third is
// reset at once, counted and logged once; the two keep relaying; once one
// closes, a new connection is relayed; every descriptor taken is given back,
// also by rejected connections.
func TestRefusedAtTheShare(t *testing.T) {
	t.Parallel()
	share := &shareOf{cap: 5} // two connections, and a third descriptor while a handshake is awaited
	var logs logBuffer
	r := rigWith(t, share, &logs)
	r.p.refused.every = time.Hour // the refusals after the first are logged when it ends
	a := startTarget(t, "a", "127.0.0.61", modeEcho)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.22"}, false, TargetGroup{Targets: []Target{a.asTarget("us-east-1a")}}))
	addr := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	first, second := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	for _, c := range []net.Conn{first, second} {
		if err := echoOnce(c, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		d := net.Dialer{Timeout: waitLong}
		c, err := d.Dial("tcp", addr.String())
		if err == nil {
			// The reset comes right after the handshake: the first read sees it.
			c.SetReadDeadline(time.Now().Add(waitLong))
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "connection reset by peer") {
			t.Fatalf("a connection beyond the share: %v, want a reset", err)
		}
	}
	for _, c := range []net.Conn{first, second} {
		if err := echoOnce(c, "still"); err != nil {
			t.Fatalf("an established connection after the refusals: %v", err)
		}
	}
	if n := counterValue(t, r, "strait_dataplane_refused_connections_total"); n != 3 {
		t.Errorf("strait_dataplane_refused_connections_total %v, want 3", n)
	}
	if st := r.p.EndpointStats("vpce-1"); st.Rejected != 3 {
		t.Errorf("the endpoint counted %d rejected, want 3", st.Rejected)
	}
	if n := strings.Count(logs.String(), "connections refused"); n != 1 || !strings.Contains(logs.String(), "refused=1 ") {
		t.Errorf("the first refusal was not logged alone, at once (%d logs):\n%s", n, logs.String())
	}

	first.Close()
	eventually(t, "the closed connection's descriptors to be given back", func() bool { return share.holding() == 2 })
	third := dialFrom(t, "127.0.0.1", addr)
	if err := echoOnce(third, "again"); err != nil {
		t.Fatalf("a connection after one closed: %v", err)
	}
	second.Close()
	third.Close()
	eventually(t, "every descriptor to be given back", func() bool { return share.holding() == 0 })
	// A rejected connection (no target) gives its descriptors back too.
	a.kill()
	waitClosed(t, dialFrom(t, "127.0.0.1", addr))
	eventually(t, "the rejected connection's descriptors to be given back", func() bool {
		return r.p.EndpointStats("vpce-1").Rejected == 4 && share.holding() == 0
	})
}

// TestRefusalsLoggedPerInterval: the first refusal is logged at once, the
// ones within the interval together when it ends.
func TestRefusalsLoggedPerInterval(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := refusals{every: 200 * time.Millisecond}
	client := netip.MustParseAddrPort("10.0.1.4:50000")
	for range 5 {
		r.add(log, client, Entry{EndpointID: "vpce-1"})
	}
	if n := strings.Count(logs.String(), "connections refused"); n != 1 || !strings.Contains(logs.String(), "refused=1 ") {
		t.Fatalf("want the first refusal logged alone at once:\n%s", logs.String())
	}
	eventually(t, "the other refusals to be logged", func() bool { return strings.Contains(logs.String(), "refused=4 refused_total=5") })
	if n := strings.Count(logs.String(), "connections refused"); n != 2 {
		t.Fatalf("5 refusals logged %d times, want twice:\n%s", n, logs.String())
	}
}

// TestDialTimeoutIsReported: a target that drops SYNs rejects the connection
// with the dial's timeout as the reason, not "no registered target".
func TestDialTimeoutIsReported(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	r := rigWith(t, nil, &logs)
	hole := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.62"), 9)
	r.net.setBlackhole(hole, true)
	r.p.dialTimeout = 100 * time.Millisecond
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.23"}, false, TargetGroup{Targets: []Target{{ID: "i-silent", Addr: hole, AZ: "us-east-1a"}}}))
	addr := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	waitClosed(t, dialFrom(t, "127.0.0.1", addr))
	eventually(t, "the rejection to be logged", func() bool { return strings.Contains(logs.String(), "connection rejected") })
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "connection rejected") {
			line = l
		}
	}
	if !strings.Contains(line, "i/o timeout") || strings.Contains(line, "no registered target") || !strings.Contains(line, "dial i-silent:9") {
		t.Fatalf("the rejection does not name the dial timeout and the target:\n%s", line)
	}
}

// counterValue is the value of the proxy's unlabelled counter name.
func counterValue(t *testing.T, r *rig, name string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}

// TestLimitListener: connections accepted through LimitListener (the VPC
// resolvers' TCP listeners) take from the share, are reset when it is spent,
// and give their descriptor back when closed.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	share := &shareOf{cap: 1}
	var logs logBuffer
	r := rigWith(t, share, &logs)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := r.p.LimitListener(inner)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	first := dialFrom(t, "127.0.0.1", addrPort(inner.Addr()))
	served := <-accepted
	// The reset may come before Dial returns.
	if second, err := net.DialTimeout("tcp", inner.Addr().String(), waitLong); err == nil {
		waitClosed(t, second)
		second.Close()
	}
	eventually(t, "the refusal to be counted", func() bool { return counterValue(t, r, "strait_dataplane_refused_connections_total") == 1 })
	served.Close()
	first.Close()
	eventually(t, "the descriptor to be given back", func() bool { return share.holding() == 0 })
	dialFrom(t, "127.0.0.1", addrPort(inner.Addr()))
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(waitLong):
		t.Fatal("no connection accepted after the first closed")
	}
}
