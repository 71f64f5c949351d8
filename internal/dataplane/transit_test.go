package dataplane

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"golang.org/x/sys/unix"
)

// acrossHosts is two proxies standing for two hosts: host 1 serves an
// endpoint ENI whose load balancer's only node is on host 2 (Entry.Remote),
// host 2 that node's transit listener (Entry.Transit) and the load balancer.
type acrossHosts struct {
	h1, h2  *rig
	eni     netip.AddrPort // host 1's endpoint listener
	transit netip.AddrPort // host 2's transit listener
}

const (
	testEndpoint = "vpce-0a1b2c3d4e5f67890"
	testService  = "vpce-svc-0123456789abcdef0"
)

func newAcrossHosts(t *testing.T, g TargetGroup, eniIP string) *acrossHosts {
	t.Helper()
	a := &acrossHosts{h1: newRig(t), h2: newRig(t)}
	a.h2.p.Configure(oneLB(map[string]string{"us-east-1b": "127.0.0.81"}, false, g))
	ln, err := ListenDevice(netip.MustParseAddrPort("127.0.0.82:0"), "lo")
	if err != nil {
		t.Fatal(err)
	}
	a.transit = a.h2.serveOn(t, ln, Entry{AZ: "us-east-1b", LoadBalancer: testLB, Port: 80, Transit: true})
	a.eni = a.h1.serve(t, eniIP, Entry{EndpointID: testEndpoint, ServiceID: testService, AZ: "us-east-1a", LoadBalancer: testLB, Port: 80,
		Remote: Remote{VPC: "vpc-consumer", Node: a.transit, Idle: time.Minute}})
	return a
}

// A connection to an endpoint ENI whose load balancer has no node on its
// host reaches the node on the other host, and the target's PROXY v2 header
// says what host 1 saw: the client, the ENI, the endpoint ID. Host 1 counts
// it as the endpoint's traffic; host 2 counts none.
func TestRelayedAcrossHosts(t *testing.T) {
	t.Parallel()
	for _, mode := range []int{modePPv2, modePPv2Greet} {
		pp := startTarget(t, "pp", "127.0.0.83", mode)
		a := newAcrossHosts(t, TargetGroup{Targets: []Target{pp.asTarget("us-east-1b")}, ProxyProtocolV2: true}, "127.0.0.84")
		c := dialFrom(t, "127.0.0.85", a.eni)
		if mode == modePPv2Greet {
			// A server that speaks first: host 1 pushes its header before the
			// client sends anything, so that host 2 can dial the target.
			c.SetReadDeadline(time.Now().Add(waitLong))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "pp\n" {
				t.Fatalf("greeting through two hosts: %q, %v", line, err)
			}
		} else if err := echoOnce(c, "across hosts"); err != nil {
			t.Fatal(err)
		}
		h := <-pp.headers
		if h == nil {
			t.Fatal("the target read no PROXY v2 header")
		}
		src, dst, _ := h.TCPAddrs()
		tlvs, err := h.TLVs()
		if err != nil {
			t.Fatal(err)
		}
		if src.AddrPort() != addrPort(c.LocalAddr()) || dst.AddrPort() != a.eni || tlvparse.FindAWSVPCEndpointID(tlvs) != testEndpoint {
			t.Fatalf("target's header %v → %v, endpoint %q; want %v → %v, %s", src, dst, tlvparse.FindAWSVPCEndpointID(tlvs), c.LocalAddr(), a.eni, testEndpoint)
		}
		if remote := <-pp.remotes; remote.Addr() != netip.MustParseAddr("127.0.0.81") {
			t.Errorf("target saw %v, want host 2's node 127.0.0.81", remote)
		}
		var dialled []dialRecord
		a.h1.net.mu.Lock()
		dialled = append(dialled, a.h1.net.dials...)
		a.h1.net.mu.Unlock()
		if len(dialled) != 1 || dialled[0].vpc != "vpc-consumer" || dialled[0].from.IsValid() || dialled[0].to != a.transit {
			t.Errorf("host 1 dialled %+v, want once from the consumer VPC (no source address) to %v", dialled, a.transit)
		}
		c.Close()
		eventually(t, "host 1 to count the endpoint's connection and bytes", func() bool {
			s := a.h1.p.EndpointStats(testEndpoint)
			return s.NewConnections == 1 && (s.BytesIn > 0) == (mode == modePPv2) && s.BytesOut > 0 && s.ActiveConnections == 0
		})
		if s := a.h1.p.ServiceStats(testService); s.NewConnections != 1 {
			t.Errorf("host 1's service counters %+v, want the connection", s)
		}
		if s, svc := a.h2.p.EndpointStats(testEndpoint), a.h2.p.ServiceStats(testService); s != (Stats{}) || svc != (Stats{}) {
			t.Errorf("host 2 counted the relayed connection: endpoint %+v, service %+v", s, svc)
		}
	}
}

// A connection to the transit listener that does not open with a valid
// header of another host's relay is closed before any target is dialled,
// and counted; the next valid one goes through. A header arriving in pieces
// is waited for.
func TestTransitRejectsBadHeaders(t *testing.T) {
	t.Parallel()
	pp := startTarget(t, "pp", "127.0.0.86", modePPv2)
	a := newAcrossHosts(t, TargetGroup{Targets: []Target{pp.asTarget("us-east-1b")}, ProxyProtocolV2: true}, "127.0.0.87")
	client, eni := netip.MustParseAddrPort("10.0.1.5:40000"), netip.MustParseAddrPort("10.0.1.9:80")
	v1 := "PROXY TCP4 10.9.9.9 10.0.1.9 40000 80\r\n"
	noID, _ := AppendProxyHeaderV2(nil, client, eni, "")
	local := append([]byte(nil), noID...)
	local[12] = 0x20 // command LOCAL
	bad := map[string][]byte{
		"no header":       []byte("GET / HTTP/1.0\r\n\r\n"),
		"PROXY v1":        []byte(v1),
		"no endpoint ID":  noID,
		"command LOCAL":   local,
		"cut short (EOF)": noID[:10],
	}
	for name, b := range bad {
		c := dialFrom(t, "127.0.0.88", a.transit)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(waitLong))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
			t.Fatalf("%s: read %d bytes, %v; want the connection closed", name, n, err)
		}
	}
	if n := pp.accepted.Load(); n != 0 {
		t.Fatalf("the target accepted %d connections from bad headers", n)
	}
	if n := a.h2.p.badHeaders.total.Load(); n != uint64(len(bad)) {
		t.Fatalf("%d bad headers counted, want %d", n, len(bad))
	}

	good, err := AppendProxyHeaderV2(nil, client, eni, testEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	// A valid header from an address that is not another host's transit
	// address (TransitPeers) is not trusted either.
	strict := newRig(t)
	strict.p.opts.TransitPeers = netip.MustParsePrefix("127.0.0.1/32")
	strict.p.Configure(oneLB(map[string]string{"us-east-1b": "127.0.0.81"}, false, TargetGroup{Targets: []Target{pp.asTarget("us-east-1b")}, ProxyProtocolV2: true}))
	ln, err := ListenDevice(netip.MustParseAddrPort("127.0.0.89:0"), "lo")
	if err != nil {
		t.Fatal(err)
	}
	c := dialFrom(t, "127.0.0.88", strict.serveOn(t, ln, Entry{AZ: "us-east-1b", LoadBalancer: testLB, Port: 80, Transit: true}))
	c.Write(append(good, "hi\n"...))
	c.SetReadDeadline(time.Now().Add(waitLong))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("a valid header from 127.0.0.88, outside the transit peers: read %d bytes, %v; want the connection closed", n, err)
	}
	if pp.accepted.Load() != 0 || strict.p.badHeaders.total.Load() != 1 {
		t.Fatalf("target accepted %d, %d bad headers counted; want none and 1", pp.accepted.Load(), strict.p.badHeaders.total.Load())
	}
	c = dialFrom(t, "127.0.0.88", a.transit)
	c.Write(good[:7])
	time.Sleep(20 * time.Millisecond) // not a measure: only likely to make the header arrive in two pieces
	c.Write(good[7:])
	if err := echoOnce(c, "after the header in pieces"); err != nil {
		t.Fatal(err)
	}
	h := <-pp.headers
	src, dst, _ := h.TCPAddrs()
	if h == nil || src.AddrPort() != client || dst.AddrPort() != eni {
		t.Fatalf("target's header %+v, want %v → %v", h, client, eni)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// FuzzRelayedHeader feeds arbitrary bytes to the transit listener's header
// reader and parser and checks them against go-proxyproto reading the same
// bytes: the reader never takes a byte past the header, and it accepts
// exactly the version 2 PROXY headers over TCP with an endpoint ID that
// go-proxyproto reads, with the same addresses and ID.
func FuzzRelayedHeader(f *testing.F) {
	good, _ := AppendProxyHeaderV2(nil, netip.MustParseAddrPort("10.0.1.5:40000"), netip.MustParseAddrPort("10.0.1.9:80"), testEndpoint)
	v6, _ := AppendProxyHeaderV2(nil, netip.MustParseAddrPort("[fd00::5]:1"), netip.MustParseAddrPort("10.0.1.9:80"), "vpce-1")
	noID, _ := AppendProxyHeaderV2(nil, netip.MustParseAddrPort("10.0.1.5:40000"), netip.MustParseAddrPort("10.0.1.9:80"), "")
	f.Add(append(good, "payload"...))
	f.Add(v6)
	f.Add(noID)
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	f.Add(good[:20])
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		if len(in) > 0 {
			if n, err := unix.Write(fds[1], in); err != nil || n != len(in) {
				t.Fatalf("write %d: %d, %v", len(in), n, err)
			}
		}
		unix.Shutdown(fds[1], unix.SHUT_WR)
		var r headerReader
		done, rerr := r.read(fds[0])
		if !done && rerr == nil {
			t.Fatalf("neither done nor failed with all %d bytes in and EOF", len(in))
		}
		if r.got > len(in) || !bytes.Equal(r.buf[:r.got], in[:r.got]) {
			t.Fatalf("read %d bytes that are not the input's first", r.got)
		}
		rest := make([]byte, len(in)+1)
		n, _ := unix.Read(fds[0], rest)
		if n < 0 {
			n = 0
		}
		if !bytes.Equal(rest[:n], in[r.got:]) {
			t.Fatalf("after the header reader, the socket holds %q, want %q", rest[:n], in[r.got:])
		}
		var got relayedHeader
		if rerr == nil {
			got, rerr = parseRelayedHeader(r.buf[:r.got])
		}
		// The oracle: go-proxyproto on the whole input.
		oh, oerr := proxyproto.Read(bufio.NewReader(bytes.NewReader(in)))
		want := oerr == nil && oh.Version == 2 && oh.Command == proxyproto.PROXY
		var ws, wd *net.TCPAddr
		var wid string
		if want {
			var ok bool
			ws, wd, ok = oh.TCPAddrs()
			tlvs, terr := oh.TLVs()
			wid = tlvparse.FindAWSVPCEndpointID(tlvs)
			want = ok && terr == nil && wid != "" && len(in) >= 16 && 16+int(in[14])<<8+int(in[15]) <= relayedHeaderMax
		}
		if want != (rerr == nil) {
			t.Fatalf("accepted: %v (%v), go-proxyproto: %v (%v, %+v)", rerr == nil, rerr, want, oerr, oh)
		}
		if !want {
			return
		}
		unmap := func(a *net.TCPAddr) netip.AddrPort {
			return netip.AddrPortFrom(a.AddrPort().Addr().Unmap(), a.AddrPort().Port())
		}
		if got.client != unmap(ws) || got.eni != unmap(wd) || got.endpointID != wid {
			t.Fatalf("parsed %+v, go-proxyproto %v → %v %q", got, ws, wd, wid)
		}
	})
}
