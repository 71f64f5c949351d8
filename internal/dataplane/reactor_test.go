package dataplane

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// Many connections end in every way a relay can end (half-close, reset,
// abrupt close, idle, removed by Configure) while others move data: every
// session is released, its descriptors closed and removed from the reactors.
func TestReactorSessionsReleased(t *testing.T) {
	r, tt, e := echoRig(t, modeEcho)
	addr := r.serve(t, "127.0.0.1", e)
	eventually(t, "a quiet start", func() bool { return r.p.EndpointStats(e.EndpointID).ActiveConnections == 0 })
	base := takeFootprint(t)

	const n = 120
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var kept []*net.TCPConn
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", addr.String(), waitLong)
			if err != nil {
				errs <- err
				return
			}
			c := nc.(*net.TCPConn)
			c.SetDeadline(time.Now().Add(waitLong))
			payload := bytes.Repeat([]byte{byte(i)}, 1+rand.IntN(1<<20))
			switch i % 4 {
			case 0: // half-close: the echo comes back whole, then EOF
				go func() { c.Write(payload); c.CloseWrite() }()
				got, err := io.ReadAll(c)
				if err != nil || !bytes.Equal(got, payload) {
					errs <- err
				}
				c.Close()
			case 1: // reset midway
				c.Write(payload[:len(payload)/2])
				c.SetLinger(0)
				c.Close()
			case 2: // close without reading the echo
				c.Write(payload)
				c.Close()
			case 3: // stay open, idle, until Configure removes the route
				if err := echoOnce(c, "idle"); err != nil {
					errs <- err
				}
				c.SetDeadline(time.Time{})
				mu.Lock()
				kept = append(kept, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("connection failed: %v", err)
	}
	r.p.Configure(Config{}) // closes the idle ones
	for _, c := range kept {
		waitClosed(t, c)
	}
	eventually(t, "every session to end", func() bool {
		r.p.relays.mu.Lock()
		left := len(r.p.relays.byID)
		r.p.relays.mu.Unlock()
		return left == 0 && r.p.EndpointStats(e.EndpointID).ActiveConnections == 0 && !hasConns(tt)
	})
	for _, c := range kept {
		c.Close()
	}
	eventually(t, "descriptors and epoll registrations to return to where they were", func() bool {
		now := takeFootprint(t)
		return now.fds["socket"] <= base.fds["socket"] && now.epolled <= base.epolled
	})
}

// A connection idle for its timeout is closed by the scan, also when its
// relay is parked with data it could not deliver (the client stopped reading).
func TestReactorIdleWhileBlocked(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.15", modeEcho)
	cfg := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}})
	cfg.LoadBalancers[0].Listeners[0].IdleTimeout = 300 * time.Millisecond
	r.p.Configure(cfg)
	addr := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-w", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})
	c := dialFrom(t, "127.0.0.1", addr)
	// Write far more than the socket buffers hold without reading the echo:
	// both directions end up waiting for a full destination.
	go func() {
		buf := make([]byte, 1<<20)
		for range 64 {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	eventually(t, "the relay to stall", func() bool {
		before := r.p.EndpointStats("vpce-w").BytesIn
		time.Sleep(100 * time.Millisecond)
		return before > 0 && r.p.EndpointStats("vpce-w").BytesIn == before
	})
	eventually(t, "the stalled connection to be closed", func() bool { return r.p.EndpointStats("vpce-w").ActiveConnections == 0 })
}
