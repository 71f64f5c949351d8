package dataplane

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func BenchmarkProxyHeaderV2(b *testing.B) {
	src := netip.MustParseAddrPort("10.0.1.23:51234")
	dst := netip.MustParseAddrPort("10.0.2.45:3306")
	buf := make([]byte, 0, MaxProxyHeaderV2Len(22))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendProxyHeaderV2(buf[:0], src, dst, "vpce-0123456789abcdef0")
	}
}

// BenchmarkPick measures target selection for one connection: the flow hash
// of its 4-tuple and the rendezvous pick among n candidates.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{2, 3, 8, 32} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = keyHash(fmt.Sprint("10.0.1.", i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), 80))
			}
			client := netip.MustParseAddrPort("10.0.1.23:51234")
			listener := netip.MustParseAddrPort("10.0.2.45:3306")
			var sel Selector = Rendezvous{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				client = netip.AddrPortFrom(client.Addr(), uint16(i))
				i += sel.Pick(flowHash(client, listener), keys) + 1
			}
		})
	}
}

// sinkServer reads and discards everything with a large buffer, and reports the
// byte count of each connection when it ends.
func sinkServer(b *testing.B, ip string) (netip.AddrPort, chan int64) {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	done := make(chan int64, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1<<20)
				var n int64
				for {
					m, err := c.Read(buf)
					n += int64(m)
					if err != nil {
						done <- n
						return
					}
				}
			}()
		}
	}()
	return addrPort(ln.Addr()), done
}

// BenchmarkRelay compares bulk throughput over loopback directly with the same
// transfer through the proxy (one stream, 1 MiB writes): divide the MB/s.
func BenchmarkRelay(b *testing.B) {
	run := func(b *testing.B, addr netip.AddrPort, done chan int64) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		b.SetBytes(int64(len(buf)))
		b.ResetTimer()
		for range b.N {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		c.(*net.TCPConn).CloseWrite()
		if n := <-done; n != int64(b.N)*int64(len(buf)) {
			b.Fatalf("sink got %d bytes, want %d", n, b.N*len(buf))
		}
		b.StopTimer()
		c.Close()
	}
	b.Run("direct", func(b *testing.B) {
		addr, done := sinkServer(b, "127.0.0.81")
		run(b, addr, done)
	})
	// Reference: a minimal proxy with io.Copy between TCP connections (Go's own
	// splice through a pipe per blocked copy).
	b.Run("iocopy", func(b *testing.B) {
		addr, done := sinkServer(b, "127.0.0.81")
		ln, err := net.Listen("tcp", "127.0.0.82:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t, err := net.Dial("tcp", addr.String())
				if err != nil {
					c.Close()
					continue
				}
				go func() { io.Copy(c, t); c.Close() }()
				go func() { io.Copy(t, c); t.(*net.TCPConn).CloseWrite() }()
			}
		}()
		run(b, addrPort(ln.Addr()), done)
	})
	for _, pp := range []bool{false, true} {
		name := "proxy"
		if pp {
			name = "proxy-ppv2"
		}
		b.Run(name, func(b *testing.B) {
			addr, done := sinkServer(b, "127.0.0.81")
			n := &testNet{}
			p := New(Options{Dial: n.dial})
			b.Cleanup(p.Close)
			p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{ProxyProtocolV2: pp, Targets: []Target{{ID: "t", Addr: addr, AZ: "us-east-1a"}}}))
			ln, err := Listen(netip.MustParseAddrPort("127.0.0.82:0"))
			if err != nil {
				b.Fatal(err)
			}
			go p.Serve(ln, Entry{EndpointID: "vpce-b", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
			countHeader := make(chan int64, 16)
			go func() {
				n := <-done
				if pp {
					n -= int64(16 + 12 + 4 + len("vpce-b"))
				}
				countHeader <- n
			}()
			run(b, ln.Addr(), countHeader)
		})
	}
}

// BenchmarkConnect measures new connections per second through the proxy: connect,
// one byte echoed, close.
func BenchmarkConnect(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.83:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.CopyN(c, c, 1)
			}()
		}
	}()
	n := &testNet{}
	p := New(Options{Dial: n.dial})
	b.Cleanup(p.Close)
	target := addrPort(ln.Addr())
	p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: "t", Addr: target, AZ: "us-east-1a"}}}))
	pln, err := Listen(netip.MustParseAddrPort("127.0.0.84:0"))
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(pln, Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	for _, c := range []struct {
		name string
		addr netip.AddrPort
	}{{"direct", target}, {"proxy", pln.Addr()}} {
		b.Run(c.name, func(b *testing.B) {
			one := []byte{1}
			for b.Loop() {
				conn, err := net.Dial("tcp", c.addr.String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Write(one); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, one); err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
}

// smallEchoServer echoes every connection through a small buffer (one goroutine
// per connection, no splice, so no pipe) and returns its address.
func smallEchoServer(b *testing.B, ip string) netip.AddrPort {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
						return
					}
				}
			}()
		}
	}()
	return addrPort(ln.Addr())
}

// benchProxy starts a proxy forwarding 127.0.0.x listeners to target and
// returns the address it serves.
func benchProxy(b *testing.B, listenIP string, target netip.AddrPort) netip.AddrPort {
	n := &testNet{}
	p := New(Options{Dial: n.dial})
	b.Cleanup(p.Close)
	p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: "t", Addr: target, AZ: "us-east-1a"}}}))
	ln, err := Listen(netip.MustParseAddrPort(listenIP + ":0"))
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(ln, Entry{EndpointID: "vpce-bench", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	b.Cleanup(func() { ln.Close() })
	return ln.Addr()
}

// BenchmarkRelayRoundTrip measures request/response latency with 64-byte
// messages over one connection, directly and through the proxy: subtract the
// ns/op for the cost of the hop.
func BenchmarkRelayRoundTrip(b *testing.B) {
	target := smallEchoServer(b, "127.0.0.85")
	for _, c := range []struct {
		name string
		addr func(*testing.B) netip.AddrPort
	}{
		{"direct", func(*testing.B) netip.AddrPort { return target }},
		{"proxy", func(b *testing.B) netip.AddrPort { return benchProxy(b, "127.0.0.86", target) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", c.addr(b).String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			msg, got := make([]byte, 64), make([]byte, 64)
			for b.Loop() {
				if _, err := conn.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// openIdle opens n connections to addr, echoes a few bytes on each (so both
// directions of a relay moved data and went idle again) and returns them with
// the footprint they add.
func openIdle(b *testing.B, addr netip.AddrPort, n int) ([]net.Conn, idleCost) {
	before := takeFootprint(b)
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			b.Fatal(err)
		}
		if err := echoOnce(c, "idle"); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond) // let the relays park
	return conns, costPer(before, takeFootprint(b), n)
}

// BenchmarkIdle reports what the proxy holds per idle connection with 2,000
// idle connections open (proxied minus direct, as custom metrics): heap and
// stack bytes, resident memory, goroutines, descriptors, epoll registrations,
// pipes, and the kernel's slab growth (system-wide, so noisy on a shared machine). Each
// operation wakes one idle connection with a 1-byte echo, which parks again.
func BenchmarkIdle(b *testing.B) {
	const n = 2000
	target := smallEchoServer(b, "127.0.0.87")
	proxied := benchProxy(b, "127.0.0.88", target)
	// The direct connections are opened twice and the second round is the
	// baseline: the first one also pays for warming up (goroutine stacks and
	// pollers' caches that later rounds reuse).
	var base idleCost
	for range 2 {
		g := runtime.NumGoroutine()
		var direct []net.Conn
		direct, base = openIdle(b, target, n)
		for _, c := range direct {
			c.Close()
		}
		for deadline := time.Now().Add(waitLong); runtime.NumGoroutine() > g && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // let the echo server's goroutines end
		}
	}
	conns, cost := openIdle(b, proxied, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	cost = cost.minus(base)
	one := []byte{1}
	i := 0
	for b.Loop() {
		c := conns[i%n]
		i++
		if _, err := c.Write(one); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cost.heap+cost.stack, "live-B/conn")
	b.ReportMetric(cost.heap, "heap-B/conn")
	b.ReportMetric(cost.stack, "stack-B/conn")
	b.ReportMetric(cost.rss, "rss-B/conn")
	b.ReportMetric(cost.slab, "slab-B/conn")
	b.ReportMetric(cost.goroutines, "goroutines/conn")
	b.ReportMetric(cost.sockets, "fds/conn")
	b.ReportMetric(cost.epolled, "epoll-regs/conn")
	b.ReportMetric(float64(cost.pipes), "pipe-fds")
}
