package dataplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echoRig starts a proxy forwarding to one target in the given mode and returns
// the listener address and the target.
func echoRig(t *testing.T, mode int) (*rig, *testTarget, Entry) {
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.11", mode)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}}))
	e := Entry{EndpointID: "vpce-0123456789abcdef0", ServiceID: "vpce-svc-0123456789abcdef0", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80}
	return r, tt, e
}

// The client half-closes: the target sees EOF, answers, closes, and the client
// reads the whole answer.
func TestRelayClientHalfClose(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	addr := r.serve(t, "127.0.0.1", e)
	c := dialFrom(t, "127.0.0.1", addr)
	if _, err := io.WriteString(c, "hello, target"); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(waitLong))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello, target" {
		t.Fatalf("read %q, %v; want the echo and EOF", got, err)
	}
}

// Small messages echoed one at a time, then the client's FIN alone, or with
// the last message: each direction parks after short reads without reading
// to EAGAIN (drainedBy), and the end of stream that comes later or with the
// data still reaches the target, whose EOF reaches the client.
func TestRelaySmallMessagesThenHalfClose(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	addr := r.serve(t, "127.0.0.1", e)
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			errs <- func() error {
				nc, err := net.DialTimeout("tcp", addr.String(), waitLong)
				if err != nil {
					return err
				}
				c := nc.(*net.TCPConn)
				defer c.Close()
				c.SetDeadline(time.Now().Add(waitLong))
				for range 10 {
					if err := echoOnce(c, "ping"); err != nil {
						return err
					}
				}
				if i%2 == 1 { // the last message and the FIN together
					if _, err := io.WriteString(c, "last"); err != nil {
						return err
					}
				}
				if err := c.CloseWrite(); err != nil {
					return err
				}
				got, err := io.ReadAll(c)
				if want := map[bool]string{false: "", true: "last"}[i%2 == 1]; err != nil || string(got) != want {
					return fmt.Errorf("after the half-close read %q, %v; want %q and EOF", got, err, want)
				}
				return nil
			}()
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// The target half-closes first: the client reads its greeting and EOF, and can
// still send to the target, which receives everything.
func TestRelayTargetHalfClose(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ln, err := net.Listen("tcp", "127.0.0.12:0")
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "bye")
		c.(*net.TCPConn).CloseWrite()
		n, _ := io.Copy(io.Discard, c)
		received <- n
	}()
	t.Cleanup(func() { ln.Close() })
	a := addrPort(ln.Addr())
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{{ID: a.Addr().String(), Addr: a, AZ: "us-east-1a"}}}))
	addr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	c := dialFrom(t, "127.0.0.1", addr)
	c.SetReadDeadline(time.Now().Add(waitLong))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v; want bye and EOF", got, err)
	}
	payload := bytes.Repeat([]byte("x"), 3<<20)
	if _, err := c.Write(payload); err != nil {
		t.Fatalf("write after the target's half-close: %v", err)
	}
	c.CloseWrite()
	select {
	case n := <-received:
		if n != int64(len(payload)) {
			t.Fatalf("target received %d bytes, want %d", n, len(payload))
		}
	case <-time.After(waitLong):
		t.Fatal("target never saw EOF")
	}
}

// largeStream writes chunks of 1 MiB whose first 8 bytes number them, so
// reordering or loss changes the digest.
func largeStream(w io.Writer, chunks int, seed uint64) ([32]byte, error) {
	buf := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := 0; i < len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
	}
	h := sha256.New()
	for i := range chunks {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		h.Write(buf)
		if _, err := w.Write(buf); err != nil {
			return [32]byte{}, err
		}
	}
	return [32]byte(h.Sum(nil)), nil
}

// 64 MiB go through the proxy and back intact, and the counters see them.
func TestRelayLargeTransfer(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	addr := r.serve(t, "127.0.0.1", e)
	c := dialFrom(t, "127.0.0.1", addr)
	const chunks = 64
	sent := make(chan [32]byte, 1)
	go func() {
		sum, err := largeStream(c, chunks, 7)
		if err != nil {
			t.Error(err)
		}
		c.CloseWrite()
		sent <- sum
	}()
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(5 * waitLong))
	n, err := io.Copy(h, c)
	if err != nil {
		t.Fatal(err)
	}
	if n != chunks<<20 {
		t.Fatalf("received %d bytes, want %d", n, chunks<<20)
	}
	if got, want := [32]byte(h.Sum(nil)), <-sent; got != want {
		t.Fatal("echoed stream differs from the sent one")
	}
	// The relay counts a chunk right after moving it: wait for the last count.
	eventually(t, "all bytes to be counted", func() bool {
		st := r.p.EndpointStats(e.EndpointID)
		return st.BytesIn == chunks<<20 && st.BytesOut == chunks<<20
	})
}

// Without epoll reactors (as when none could be created), connections are
// relayed by the buffered fallback.
func TestRelayFallback(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	r.p.relays.closeReactors() // before the first connection: every session falls back
	addr := r.serve(t, "127.0.0.1", e)
	c := dialFrom(t, "127.0.0.1", addr)
	sent := make(chan [32]byte, 1)
	go func() {
		sum, err := largeStream(c, 4, 9)
		if err != nil {
			t.Error(err)
		}
		c.CloseWrite()
		sent <- sum
	}()
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := io.Copy(h, c); err != nil {
		t.Fatal(err)
	}
	if [32]byte(h.Sum(nil)) != <-sent {
		t.Fatal("echoed stream differs from the sent one")
	}
	eventually(t, "all bytes to be counted", func() bool {
		st := r.p.EndpointStats(e.EndpointID)
		return st.BytesIn == 4<<20 && st.BytesOut == 4<<20
	})
}

// A connection with no byte either way for the idle timeout is closed; one
// active in a single direction stays open. The proxy's clock is the test's: it
// moves only once the last byte has arrived, so the outcome does not depend on
// how fast a loaded machine runs the test (the idle scan itself runs every real
// second).
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	r := newRigClock(t, func() time.Duration { return time.Duration(now.Load()) })
	advance := func(d time.Duration) { now.Add(int64(d)) }
	echo := startTarget(t, "echo", "127.0.0.13", modeEcho)
	sink := startTarget(t, "sink", "127.0.0.14", modeSink)
	const idle = 200 * time.Millisecond
	cfg := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{echo.asTarget("us-east-1a")}})
	sinkTG := TargetGroup{ARN: testTG + "-sink", VpcID: testVPC, Targets: []Target{sink.asTarget("us-east-1a")}}
	cfg.TargetGroups = append(cfg.TargetGroups, sinkTG)
	cfg.LoadBalancers[0].Listeners = []Listener{{Port: 80, TargetGroup: testTG, IdleTimeout: idle}, {Port: 81, TargetGroup: sinkTG.ARN, IdleTimeout: idle}}
	r.p.Configure(cfg)

	idleAddr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	activeAddr := r.serve(t, "127.0.0.1", Entry{AZ: "us-east-1a", LoadBalancer: testLB, Port: 81})

	idleConn := dialFrom(t, "127.0.0.1", idleAddr)
	if err := echoOnce(idleConn, "ping"); err != nil {
		t.Fatal(err)
	}
	// Only client → target moves, a byte each quarter of the idle timeout, for
	// ten idle timeouts of the proxy's time.
	active := dialFrom(t, "127.0.0.1", activeAddr)
	const writes = 40
	for i := range writes {
		if _, err := active.Write([]byte{'x'}); err != nil {
			t.Fatalf("active connection failed: %v", err)
		}
		eventually(t, "sink to receive the byte", func() bool { return sink.received.Load() == int64(i+1) })
		advance(idle / 4)
	}
	if !hasConns(sink) {
		t.Fatal("connection active in one direction was closed")
	}
	waitClosed(t, idleConn)
	// Once the client stops writing, the active one idles out too.
	advance(idle)
	waitClosed(t, active)
}
