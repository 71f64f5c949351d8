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
func fdKinds(t *testing.T) map[string]int {
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

// An idle proxied connection holds two sockets and no pipe, after having moved
// data both ways. The test also logs its memory (issue 5 compares it with
// HAProxy): run with -v -run TestIdleFootprint.
func TestIdleFootprint(t *testing.T) {
	const n = 300
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.91", modeEcho)
	r.p.Configure(oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}}))
	proxied := r.serve(t, "127.0.0.1", Entry{EndpointID: "vpce-f", AZ: "us-east-1a", LoadBalancer: testLB, Port: 80})

	open := func(addr string) (heap, stack uint64, goroutines int, slab int64, kinds map[string]int) {
		h0, s0 := memUse()
		g0, sl0, k0 := runtime.NumGoroutine(), slabKB(), fdKinds(t)
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
		h1, s1 := memUse()
		g1, sl1, k1 := runtime.NumGoroutine(), slabKB(), fdKinds(t)
		kinds = map[string]int{}
		for k, v := range k1 {
			kinds[k] = v - k0[k]
		}
		for _, c := range conns {
			c.Close()
		}
		eventually(t, "connections to close", func() bool { return !hasConns(tt) && r.p.EndpointStats("vpce-f").ActiveConnections == 0 })
		return h1 - min(h0, h1), s1 - min(s0, s1), g1 - g0, sl1 - sl0, kinds
	}
	dh, ds, dg, dslab, dk := open(tt.addr.String())
	ph, ps, pg, pslab, pk := open(proxied.String())
	t.Logf("per idle proxied connection (proxy minus direct, %d connections): heap %d B, stacks %d B, goroutines %.1f, sockets %.1f, pipe fds %d (direct %d), kernel slab %d B",
		n, int64(ph-dh)/n, int64(ps-ds)/n, float64(pg-dg)/n, float64(pk["socket"]-dk["socket"])/n, pk["pipe"], dk["pipe"], (pslab-dslab)*1024/n)
	if got := pk["socket"] - dk["socket"]; got != 2*n {
		t.Errorf("proxied connections hold %d more sockets than direct ones, want %d (2 each)", got, 2*n)
	}
	if pk["pipe"]-dk["pipe"] > 16 {
		t.Errorf("%d pipe descriptors open with %d idle connections: idle relays must not hold pipes", pk["pipe"], n)
	}
	if got := pg - dg; got != 2*n {
		t.Errorf("proxied connections run %d more goroutines than direct ones, want %d (2 each)", got, 2*n)
	}
}
