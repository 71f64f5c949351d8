package dataplane

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"strait/internal/model"
)

const (
	testLB  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/db/0123456789abcdef"
	testTG  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/db/0123456789abcdef"
	testVPC = "vpc-0123456789abcdef0"
	// waitLong bounds every wait for something that should happen soon; it only
	// fails a test that hangs, it never measures speed.
	waitLong = 10 * time.Second
)

// testNet dials targets on loopback from the node's 127.0.0.x address, as the
// agent's Dialer does inside a provider VPC. Addresses in blackhole never answer:
// a dial to them waits for its context.
type testNet struct {
	mu        sync.Mutex
	dials     []dialRecord
	blackhole map[netip.AddrPort]bool
}

type dialRecord struct {
	vpc  string
	from netip.Addr
	to   netip.AddrPort
	at   time.Time
}

func (n *testNet) dial(vpc string, from netip.Addr, to netip.AddrPort) (int, bool, error) {
	n.mu.Lock()
	n.dials = append(n.dials, dialRecord{vpc, from, to, time.Now()})
	hole := n.blackhole[to]
	n.mu.Unlock()
	if hole {
		sink, err := blackholeSink()
		if err != nil {
			return -1, false, err
		}
		to = sink
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, err
	}
	done, err := StartConnect(fd, from, to)
	if err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	return fd, done, nil
}

// blackholeSink is a loopback address whose handshakes never complete: a
// listening socket with an accept queue of one, filled by a connection nobody
// accepts, so the kernel drops every further SYN (the client retries for
// minutes). It is created once and lives as long as the test binary.
var blackholeSink = sync.OnceValues(func() (netip.AddrPort, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 250}}); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Listen(fd, 0); err != nil {
		return netip.AddrPort{}, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr), uint16(sa.(*unix.SockaddrInet4).Port))
	if _, err := net.DialTimeout("tcp", addr.String(), waitLong); err != nil { // fills the queue
		return netip.AddrPort{}, err
	}
	return addr, nil
})

// dialsBefore returns the number of dials started before t.
func (n *testNet) dialsBefore(t time.Time) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, d := range n.dials {
		if d.at.Before(t) {
			c++
		}
	}
	return c
}

// count returns the number of dials so far.
func (n *testNet) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.dials)
}

func (n *testNet) setBlackhole(a netip.AddrPort, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blackhole == nil {
		n.blackhole = map[netip.AddrPort]bool{}
	}
	n.blackhole[a] = on
}

// healthRecord is one HealthReport call.
type healthRecord struct {
	group  string
	target Target
	health model.TargetHealth
}

// reportLog records health reports.
type reportLog struct {
	mu   sync.Mutex
	recs []healthRecord
}

func (r *reportLog) report(group string, t Target, h model.TargetHealth) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, healthRecord{group, t, h})
}

// of returns the reports about target id.
func (r *reportLog) of(id string) []healthRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []healthRecord
	for _, rec := range r.recs {
		if rec.target.ID == id {
			out = append(out, rec)
		}
	}
	return out
}

// states returns the sequence of states reported for target id.
func (r *reportLog) states(id string) []string {
	var out []string
	for _, rec := range r.of(id) {
		out = append(out, rec.health.State)
	}
	return out
}

// wait waits until the last report about target id has state.
func (r *reportLog) wait(t *testing.T, id, state string) model.TargetHealth {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		if recs := r.of(id); len(recs) > 0 && recs[len(recs)-1].health.State == state {
			return recs[len(recs)-1].health
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("target %s never became %s; reports: %v", id, state, r.states(id))
	return model.TargetHealth{}
}

// rig is a Proxy under test with its dialer, reports and metrics registry.
type rig struct {
	p       *Proxy
	net     *testNet
	reports *reportLog
	reg     *prometheus.Registry
}

func newRig(t *testing.T) *rig { return newRigClock(t, nil) }

// newRigClock is a rig whose proxy measures idle time by clock (nil: the real one).
func newRigClock(t *testing.T, clock func() time.Duration) *rig {
	r := &rig{net: &testNet{}, reports: &reportLog{}, reg: prometheus.NewRegistry()}
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("STRAIT_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r.p = New(Options{Dial: r.net.dial, Report: r.reports.report, Logger: logger, Registerer: r.reg, Clock: clock,
		TransitPeers: netip.MustParsePrefix("127.0.0.0/8")})
	t.Cleanup(r.p.Close)
	return r
}

// serve opens a listener on ip (port chosen by the kernel) and serves entry e on it.
func (r *rig) serve(t *testing.T, ip string, e Entry) netip.AddrPort {
	t.Helper()
	ln, err := Listen(netip.MustParseAddrPort(ip + ":0"))
	if err != nil {
		t.Fatal(err)
	}
	return r.serveOn(t, ln, e)
}

func (r *rig) serveOn(t *testing.T, ln *ListenSocket, e Entry) netip.AddrPort {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.p.Serve(ln, e) }()
	t.Cleanup(func() {
		ln.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v, want nil", err)
			}
		case <-time.After(waitLong):
			t.Errorf("Serve did not return after its listener closed")
		}
	})
	return ln.Addr()
}

// target modes.
const (
	modeEcho      = iota // echo until EOF, then close the write side
	modeGreet            // write "name\n", then echo
	modeSink             // read and count until EOF; never write
	modePPv2             // parse a PROXY header, record it, then echo
	modePPv2Greet        // parse a PROXY header, record it, write "name\n", then echo (a server that speaks first)
)

// testTarget is a TCP server on loopback standing for a registered target.
type testTarget struct {
	name     string
	mode     int
	ln       net.Listener
	addr     netip.AddrPort
	accepted atomic.Int64
	received atomic.Int64 // modeSink: bytes received
	remotes  chan netip.AddrPort
	headers  chan *proxyproto.Header
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func startTarget(t *testing.T, name, ip string, mode int) *testTarget {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	tt := &testTarget{name: name, mode: mode, remotes: make(chan netip.AddrPort, 1024), headers: make(chan *proxyproto.Header, 64), conns: map[net.Conn]bool{}}
	tt.listen(ln)
	t.Cleanup(tt.stop)
	return tt
}

func (tt *testTarget) listen(ln net.Listener) {
	tt.ln = ln
	tt.addr = addrPort(ln.Addr())
	tt.wg.Add(1)
	go func() {
		defer tt.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tt.accepted.Add(1)
			select {
			case tt.remotes <- addrPort(c.RemoteAddr()):
			default:
			}
			tt.mu.Lock()
			tt.conns[c] = true
			tt.mu.Unlock()
			tt.wg.Add(1)
			go tt.serve(c)
		}
	}()
}

func (tt *testTarget) serve(c net.Conn) {
	defer tt.wg.Done()
	defer func() {
		c.Close()
		tt.mu.Lock()
		delete(tt.conns, c)
		tt.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	switch tt.mode {
	case modeGreet:
		if _, err := io.WriteString(c, tt.name+"\n"); err != nil {
			return
		}
	case modeSink:
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			tt.received.Add(int64(n))
			if err != nil {
				return
			}
		}
	case modePPv2, modePPv2Greet:
		h, err := proxyproto.Read(br)
		if err != nil {
			h = nil
		}
		tt.headers <- h
		if h == nil {
			return
		}
		if tt.mode == modePPv2Greet {
			if _, err := io.WriteString(c, tt.name+"\n"); err != nil {
				return
			}
		}
	}
	// A plain buffer loop: io.Copy would splice and park a pipe per connection,
	// blurring the proxy's own descriptor count in TestIdleFootprint.
	buf := make([]byte, 32<<10)
	for {
		n, err := br.Read(buf)
		if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
			break
		}
	}
	c.(*net.TCPConn).CloseWrite()
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// kill closes the listener only: established connections go on, new ones are refused.
func (tt *testTarget) kill() { tt.ln.Close() }

// revive listens again on the same address.
func (tt *testTarget) revive(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", tt.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	tt.listen(ln)
}

// dropConns closes the established connections.
func (tt *testTarget) dropConns() {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	for c := range tt.conns {
		c.Close()
	}
}

// hasConns reports whether a test target has a connection open.
func hasConns(tt *testTarget) bool {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return len(tt.conns) > 0
}

func (tt *testTarget) stop() {
	tt.ln.Close()
	tt.dropConns()
	tt.wg.Wait()
}

// asTarget returns the configuration of the test target.
func (tt *testTarget) asTarget(az string) Target {
	return Target{ID: tt.addr.Addr().String(), Addr: tt.addr, AZ: az}
}

// freeAddr returns an address on ip where nothing listens.
func freeAddr(t *testing.T, ip string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	a := addrPort(ln.Addr())
	ln.Close()
	return a
}

// oneLB returns a configuration with one load balancer (one node per zone given
// as zone → node IP, listener port 80) forwarding to one target group.
func oneLB(nodes map[string]string, crossZone bool, g TargetGroup) Config {
	lb := LoadBalancer{ARN: testLB, VpcID: testVPC, ServiceID: "vpce-svc-0123456789abcdef0", CrossZone: crossZone,
		Listeners: []Listener{{Port: 80, TargetGroup: testTG}}}
	for _, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		if ip, ok := nodes[az]; ok {
			lb.Nodes = append(lb.Nodes, Node{AZ: az, IP: netip.MustParseAddr(ip)})
		}
	}
	g.ARN, g.VpcID = testTG, testVPC
	return Config{LoadBalancers: []LoadBalancer{lb}, TargetGroups: []TargetGroup{g}}
}

// dialFrom connects to addr from a 127.0.0.x address.
func dialFrom(t *testing.T, from string, addr netip.AddrPort) *net.TCPConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitLong}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// greeting connects and returns the name the greeting target sent; the
// connection is returned open.
func greeting(t *testing.T, addr netip.AddrPort) (string, *net.TCPConn) {
	t.Helper()
	c := dialFrom(t, "127.0.0.1", addr)
	c.SetReadDeadline(time.Now().Add(waitLong))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	return strings.TrimSuffix(line, "\n"), c
}

// echoOnce writes msg and reads it back.
func echoOnce(c net.Conn, msg string) error {
	c.SetDeadline(time.Now().Add(waitLong))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echo mismatch: " + string(buf))
	}
	return nil
}

// waitClosed waits until the peer closes c (EOF or reset).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLong))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open")
	}
}

// eventually polls cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
