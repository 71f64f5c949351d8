package dataplane

import (
	"bufio"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fdKinds counts this process's open descriptors by kind (socket, pipe, …).
func fdKinds(t testing.TB) map[string]int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	kinds := map[string]int{}
	for _, e := range entries {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		kind, _, _ := strings.Cut(link, ":")
		kinds[kind]++
	}
	return kinds
}

// memUse returns heap and stack bytes in use after a collection.
func memUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// rssBytes returns the process's resident memory from /proc/self/statm.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// epollRegistrations counts the descriptors registered in this process's epoll
// instances (the runtime poller's and the proxy's reactors'): each is a
// kernel epitem.
func epollRegistrations() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		n += strings.Count(string(info), "tfd:")
	}
	return n
}

// footprint is what the process (and the kernel's slab) holds at one moment.
type footprint struct {
	heap, stack, rss uint64
	goroutines       int
	slabKB           int64
	fds              map[string]int
	epolled          int
}

// takeFootprint collects garbage and measures.
func takeFootprint(tb testing.TB) footprint {
	heap, stack := memUse()
	return footprint{heap: heap, stack: stack, rss: rssBytes(), goroutines: runtime.NumGoroutine(), slabKB: slabKB(),
		fds: fdKinds(tb), epolled: epollRegistrations()}
}

// idleCost is the difference between two footprints divided by a connection count.
type idleCost struct {
	heap, stack, rss, slab       float64 // bytes
	goroutines, sockets, epolled float64
	pipes                        int // pipe descriptors (total, not per connection)
}

// costPer returns (after − before) / n.
func costPer(before, after footprint, n int) idleCost {
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return idleCost{
		heap:       d(after.heap, before.heap),
		stack:      d(after.stack, before.stack),
		rss:        d(after.rss, before.rss),
		slab:       float64(after.slabKB-before.slabKB) * 1024 / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
		sockets:    float64(after.fds["socket"]-before.fds["socket"]) / float64(n),
		epolled:    float64(after.epolled-before.epolled) / float64(n),
		pipes:      after.fds["pipe"] - before.fds["pipe"],
	}
}

// minus returns the cost of c beyond base (proxied minus direct).
func (c idleCost) minus(base idleCost) idleCost {
	return idleCost{heap: c.heap - base.heap, stack: c.stack - base.stack, rss: c.rss - base.rss, slab: c.slab - base.slab,
		goroutines: c.goroutines - base.goroutines, sockets: c.sockets - base.sockets, epolled: c.epolled - base.epolled,
		pipes: c.pipes - base.pipes}
}

// slabKB returns the kernel's slab memory from /proc/meminfo.
func slabKB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "Slab:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// An idle proxied connection holds two sockets, two epoll registrations, no
// pipe and no goroutine, after having moved data both ways. The test also logs
// its memory (issue 5 compares it with HAProxy): run with -v -run
// TestIdleFootprint; BenchmarkIdle measures the same with more connections.
func TestIdleFootprint(t *testing.T) {
	const n = 300
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.91", modeEcho)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}}))
	proxied := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-f", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	open := func(addr string) idleCost {
		before := takeFootprint(t)
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := echoOnce(c, "moved"); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		time.Sleep(50 * time.Millisecond) // let the relays park
		cost := costPer(before, takeFootprint(t), n)
		for _, c := range conns {
			c.Close()
		}
		eventually(t, "connections to close", func() bool { return !hasConns(tt) && r.p.EndpointStats("vpce-f").ActiveConnections == 0 })
		return cost
	}
	open(tt.addr.String()) // warm-up: later rounds reuse its goroutine stacks and caches
	direct := open(tt.addr.String())
	c := open(proxied.String()).minus(direct)
	t.Logf("per idle proxied connection (proxy minus direct, %d connections): heap %.0f B, stacks %.0f B, goroutines %.2f, sockets %.2f, epoll registrations %.2f, pipe fds %d, kernel slab %.0f B",
		n, c.heap, c.stack, c.goroutines, c.sockets, c.epolled, c.pipes, c.slab)
	if c.sockets != 2 {
		t.Errorf("proxied connections hold %.2f more sockets each than direct ones, want 2", c.sockets)
	}
	if c.epolled > 2.05 {
		t.Errorf("proxied connections hold %.2f more epoll registrations each than direct ones, want 2", c.epolled)
	}
	if c.pipes > 16 {
		t.Errorf("%d pipe descriptors open with %d idle connections: idle relays must not hold pipes", c.pipes, n)
	}
	// Idle relays are parked in a reactor: no goroutine per connection (a few
	// unrelated goroutines may come and go).
	if c.goroutines > 0.02 {
		t.Errorf("proxied connections run %.2f more goroutines each than direct ones, want none", c.goroutines)
	}
}
