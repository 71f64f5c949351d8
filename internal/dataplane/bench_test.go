package dataplane

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
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
			ln, err := net.Listen("tcp", "127.0.0.82:0")
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
			run(b, addrPort(ln.Addr()), countHeader)
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
	pln, err := net.Listen("tcp", "127.0.0.84:0")
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(pln, Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	for _, c := range []struct {
		name string
		addr netip.AddrPort
	}{{"direct", target}, {"proxy", addrPort(pln.Addr())}} {
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
