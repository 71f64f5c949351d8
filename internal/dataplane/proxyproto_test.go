package dataplane

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"golang.org/x/sys/unix"
)

// parseHeader parses b with go-proxyproto, an independent implementation.
func parseHeader(t testing.TB, b []byte) (*proxyproto.Header, []proxyproto.TLV) {
	t.Helper()
	h, err := proxyproto.Read(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("go-proxyproto rejects %x: %v", b, err)
	}
	tlvs, err := h.TLVs()
	if err != nil {
		t.Fatalf("TLVs of %x: %v", b, err)
	}
	return h, tlvs
}

// awsEndpointID returns the value of TLV 0xEA subtype 0x01, if present.
func awsEndpointID(tlvs []proxyproto.TLV) (string, bool) {
	for _, tlv := range tlvs {
		if tlv.Type == ppTypeAWS && len(tlv.Value) > 0 && tlv.Value[0] == ppSubtypeVPC {
			return string(tlv.Value[1:]), true
		}
	}
	return "", false
}

func TestAppendProxyHeaderV2(t *testing.T) {
	src := netip.MustParseAddrPort("10.0.1.23:51234")
	dst := netip.MustParseAddrPort("10.0.2.45:3306")
	b, err := AppendProxyHeaderV2([]byte("prefix"), src, dst, "vpce-0123456789abcdef0")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatal("did not append")
	}
	b = b[len("prefix"):]
	if len(b) != 16+12+4+22 { // fixed part, IPv4 addresses and ports, TLV
		t.Fatalf("length %d", len(b))
	}
	h, tlvs := parseHeader(t, b)
	if h.Version != 2 || h.Command != proxyproto.PROXY || h.TransportProtocol != proxyproto.TCPv4 {
		t.Fatalf("header %+v", h)
	}
	s, d, _ := h.TCPAddrs()
	if s.AddrPort() != src || d.AddrPort() != dst {
		t.Fatalf("addresses %v → %v", s, d)
	}
	if id := tlvparse.FindAWSVPCEndpointID(tlvs); id != "vpce-0123456789abcdef0" {
		t.Fatalf("endpoint ID %q", id)
	}

	// IPv6, and IPv4 mixed with IPv6, without an endpoint ID.
	v6 := netip.MustParseAddrPort("[fd00::1]:443")
	b, err = AppendProxyHeaderV2(nil, src, v6, "")
	if err != nil {
		t.Fatal(err)
	}
	h, tlvs = parseHeader(t, b)
	s, d, _ = h.TCPAddrs()
	if h.TransportProtocol != proxyproto.TCPv6 || netip.AddrPortFrom(s.AddrPort().Addr().Unmap(), s.AddrPort().Port()) != src || d.AddrPort() != v6 || len(tlvs) != 0 {
		t.Fatalf("v6 header %+v, TLVs %v", h, tlvs)
	}
	if _, err := AppendProxyHeaderV2(nil, netip.AddrPort{}, dst, ""); err == nil {
		t.Fatal("invalid source accepted")
	}
}

// FuzzProxyHeader round-trips addresses, ports and endpoint IDs through the
// encoder and go-proxyproto's parser.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte{10, 0, 1, 23}, uint16(51234), []byte{10, 0, 2, 45}, uint16(3306), "vpce-0123456789abcdef0")
	f.Add(netip.MustParseAddr("fd00::1").AsSlice(), uint16(1), []byte{127, 0, 0, 1}, uint16(65535), "")
	f.Add(netip.MustParseAddr("2001:db8::2").AsSlice(), uint16(0), netip.MustParseAddr("::ffff:1.2.3.4").AsSlice(), uint16(80), "x\x00\xff")
	f.Fuzz(func(t *testing.T, srcIP []byte, srcPort uint16, dstIP []byte, dstPort uint16, id string) {
		s, ok1 := netip.AddrFromSlice(srcIP)
		d, ok2 := netip.AddrFromSlice(dstIP)
		if !ok1 || !ok2 || len(id) > 1000 {
			return
		}
		src, dst := netip.AddrPortFrom(s, srcPort), netip.AddrPortFrom(d, dstPort)
		b, err := AppendProxyHeaderV2(nil, src, dst, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxProxyHeaderV2Len(len(id)) {
			t.Fatalf("header of %d bytes exceeds MaxProxyHeaderV2Len", len(b))
		}
		h, tlvs := parseHeader(t, b)
		gs, gd, ok := h.TCPAddrs()
		if !ok {
			t.Fatalf("not TCP: %+v", h)
		}
		unmap := func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
		if unmap(gs.AddrPort()) != unmap(src) || unmap(gd.AddrPort()) != unmap(dst) {
			t.Fatalf("round trip %v → %v became %v → %v", src, dst, gs, gd)
		}
		got, found := awsEndpointID(tlvs)
		if found != (id != "") || got != id {
			t.Fatalf("endpoint ID %q (found %v), want %q", got, found, id)
		}
	})
}

// Targets of a PROXY v2 group see the header before any byte: the client's
// address, the listener's address and the endpoint ID; without an endpoint
// (direct traffic) no TLV; without PROXY v2 they see the node's address.
func TestProxyProtocolEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pp := startTarget(t, "pp", "127.0.0.61", modePPv2)
	plain := startTarget(t, "plain", "127.0.0.62", modeEcho)
	cfg := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{pp.asTarget("us-east-1a")}, ProxyProtocolV2: true})
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{ARN: "plain", VpcID: testVPC, Targets: []Target{plain.asTarget("us-east-1a")}})
	cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners, Listener{Port: 81, TargetGroup: "plain"})
	r.p.Configure(cfg)
	viaEndpoint := r.serve(t, "127.0.0.63", Entry{EndpointID: "vpce-0a1b2c3d4e5f67890", ServiceID: "vpce-svc-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	direct := r.serve(t, "127.0.0.21", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	plainAddr := r.serve(t, "127.0.0.63", Entry{EndpointID: "vpce-0a1b2c3d4e5f67890", AZ: "us-east-1a", LoadBalancer: testLB, Port: 81})

	c := dialFrom(t, "127.0.0.64", viaEndpoint)
	if err := echoOnce(c, "after the header"); err != nil {
		t.Fatal(err)
	}
	h := <-pp.headers
	if h == nil {
		t.Fatal("target got no PROXY header")
	}
	s, d, _ := h.TCPAddrs()
	if s.AddrPort() != addrPort(c.LocalAddr()) || d.AddrPort() != viaEndpoint {
		t.Fatalf("header %v → %v, want client %v → listener %v", s, d, c.LocalAddr(), viaEndpoint)
	}
	tlvs, _ := h.TLVs()
	if id := tlvparse.FindAWSVPCEndpointID(tlvs); id != "vpce-0a1b2c3d4e5f67890" {
		t.Fatalf("TLV endpoint ID %q", id)
	}

	c2 := dialFrom(t, "127.0.0.65", direct)
	if err := echoOnce(c2, "direct"); err != nil {
		t.Fatal(err)
	}
	h = <-pp.headers
	tlvs, _ = h.TLVs()
	if s, _, _ := h.TCPAddrs(); s.AddrPort() != addrPort(c2.LocalAddr()) || len(tlvs) != 0 {
		t.Fatalf("direct header from %v with TLVs %v", s, tlvs)
	}

	c3 := dialFrom(t, "127.0.0.64", plainAddr)
	if err := echoOnce(c3, "no header"); err != nil {
		t.Fatal(err)
	}
	select {
	case src := <-plain.remotes:
		if src.Addr() != netip.MustParseAddr("127.0.0.21") {
			t.Fatalf("plain target saw %v, want the node address", src)
		}
	case <-time.After(waitLong):
		t.Fatal("plain target saw no connection")
	}
}

// A server that speaks first (as MySQL and PostgreSQL do) gets the PROXY v2
// header although the client sends nothing until it is greeted: the header
// the dial held back for the client's first bytes is pushed before the client
// → target direction waits, so nothing is left unsent on the target socket
// (without the push TCP would release it only after 200 ms). A client that
// speaks first gets header and bytes to the target too.
func TestProxyProtocolServerSpeaksFirst(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	db := startTarget(t, "db", "127.0.0.66", modePPv2Greet)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{db.asTarget("us-east-1a")}, ProxyProtocolV2: true}))
	addr := r.serve(t, "127.0.0.67", Entry{EndpointID: "vpce-0a1b2c3d4e5f67891", ServiceID: "vpce-svc-1", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	// The client stays silent: once its direction waits, the header is out.
	silent := dialFrom(t, "127.0.0.1", addr)
	defer silent.Close()
	s := waitOnlySession(t, r.p, "the silent client's direction waiting", func(s *session) bool {
		return s.up.state.Load() == pumpParked
	})
	unsent, err := unsentToTarget(s)
	if err != nil || unsent != 0 {
		t.Fatalf("target socket holds %d unsent bytes (%v) while the client is silent", unsent, err)
	}
	silent.SetReadDeadline(time.Now().Add(waitLong))
	if line, err := bufio.NewReader(silent).ReadString('\n'); err != nil || line != "db\n" {
		t.Fatalf("greeting %q, %v", line, err)
	}
	if h := <-db.headers; h == nil {
		t.Fatal("target got no PROXY header")
	}
	for i := range 10 {
		name, c := greeting(t, addr)
		if name != "db" {
			t.Fatalf("connection %d: greeting %q", i, name)
		}
		if h := <-db.headers; h == nil {
			t.Fatalf("connection %d: target got no PROXY header", i)
		}
		if err := echoOnce(c, "after the greeting"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}

	// The client speaks first: its bytes wait at the target behind the header.
	c := dialFrom(t, "127.0.0.1", addr)
	defer c.Close()
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(waitLong))
	got := make([]byte, len("db\nhello"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "db\nhello" {
		t.Fatalf("read %q, %v; want the greeting, then the echo", got, err)
	}
	if h := <-db.headers; h == nil {
		t.Fatal("target got no PROXY header")
	}
}

// A target that resets before any byte is replaced (see
// TestResetBeforeFirstByte); with PROXY v2 the replacement gets its header at
// once, although the silent client's direction waits already: nothing is
// left unsent on the new target socket.
func TestProxyProtocolRetargetSendsHeader(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	db := startTarget(t, "db", "127.0.0.68", modePPv2Greet)
	rst, resets := countingResetTarget(t, "127.0.0.69", false)
	g := TargetGroup{Targets: []Target{db.asTarget("us-east-1a"), {ID: "rst", Addr: rst, AZ: "us-east-1a"}}, ProxyProtocolV2: true}
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, g))
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	for i := range 20 {
		c := dialFrom(t, "127.0.0.1", addr)
		s := waitOnlySession(t, r.p, "the session on the greeting target, its client's direction waiting", func(s *session) bool {
			return s.ref.Load().Addr == db.addr && s.up.state.Load() == pumpParked
		})
		unsent, err := unsentToTarget(s)
		if err != nil || unsent != 0 {
			t.Fatalf("connection %d: target socket holds %d unsent bytes (%v)", i, unsent, err)
		}
		c.SetReadDeadline(time.Now().Add(waitLong))
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "db\n" {
			t.Fatalf("connection %d: greeting %q, %v", i, line, err)
		}
		c.Close()
		eventually(t, "the session gone", func() bool {
			r.p.mu.Lock()
			defer r.p.mu.Unlock()
			return len(r.p.sessions) == 0
		})
	}
	if resets.Load() == 0 {
		t.Fatal("no connection went to the resetting target first")
	}
}

// waitOnlySession waits until p relays exactly one session and it meets cond,
// and returns it.
func waitOnlySession(t *testing.T, p *Proxy, what string, cond func(*session) bool) *session {
	t.Helper()
	var s *session
	eventually(t, what, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for x := range p.sessions {
			s = x
		}
		return len(p.sessions) == 1 && cond(s)
	})
	return s
}

// unsentToTarget is how many bytes the session's target socket holds that TCP
// has not sent yet (SIOCOUTQNSD).
func unsentToTarget(s *session) (int, error) {
	s.mu.Lock() // a retarget replaces tfd under it
	defer s.mu.Unlock()
	return unix.IoctlGetInt(s.tfd, unix.SIOCOUTQNSD)
}
