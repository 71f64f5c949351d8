package placement_test

import (
	"fmt"
	"sync"
	"testing"

	"strait/internal/dataplane"
	"strait/internal/placement"
)

// Totals are the sum of the hosts' counters and only grow: a host whose
// agent restarts, or forgets an endpoint and counts it again, adds what it
// counts anew without taking back or repeating what it reported before.
func TestTrafficAddsUpHosts(t *testing.T) {
	tr := placement.NewTraffic()
	s := func(active int64, conns, in, out, rejected uint64) dataplane.Stats {
		return dataplane.Stats{ActiveConnections: active, NewConnections: conns, BytesIn: in, BytesOut: out, Rejected: rejected}
	}
	check := func(step string, want map[string]dataplane.Stats) {
		t.Helper()
		got := tr.Traffic()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: traffic %v, want %v", step, got, want)
		}
	}
	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(2, 10, 1000, 2000, 1)})
	tr.Update("h2", "boot-1", map[string]dataplane.Stats{"vpce-1": s(1, 5, 500, 700, 0), "vpce-2": s(0, 1, 10, 20, 0)})
	check("two hosts", map[string]dataplane.Stats{"vpce-1": s(3, 15, 1500, 2700, 1), "vpce-2": s(0, 1, 10, 20, 0)})

	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(0, 12, 1100, 2100, 1)})
	check("h1 grew", map[string]dataplane.Stats{"vpce-1": s(1, 17, 1600, 2800, 1), "vpce-2": s(0, 1, 10, 20, 0)})

	// h2's agent restarted: its counters start again (below the old ones here,
	// above them in the next step); both times what it counts is new.
	tr.Update("h2", "boot-2", map[string]dataplane.Stats{"vpce-1": s(1, 2, 50, 60, 0), "vpce-2": s(0, 3, 30, 40, 0)})
	check("h2 restarted", map[string]dataplane.Stats{"vpce-1": s(1, 19, 1650, 2860, 1), "vpce-2": s(0, 4, 40, 60, 0)})
	tr.Update("h2", "boot-3", map[string]dataplane.Stats{"vpce-1": s(0, 6, 600, 800, 0)})
	check("h2 restarted again", map[string]dataplane.Stats{"vpce-1": s(0, 25, 2250, 3660, 1)})

	// h1 forgot vpce-1 and counts it again from zero.
	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(0, 1, 10, 10, 0)})
	check("h1 counts again", map[string]dataplane.Stats{"vpce-1": s(0, 26, 2260, 3670, 1)})

	// A host that left no longer counts its active connections; an endpoint
	// no host counts is gone.
	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(4, 1, 10, 10, 0)})
	check("h1 active", map[string]dataplane.Stats{"vpce-1": s(4, 26, 2260, 3670, 1)})
	tr.Forget("h1")
	check("h1 left", map[string]dataplane.Stats{"vpce-1": s(0, 26, 2260, 3670, 1)})
	tr.Update("h2", "boot-3", nil)
	check("nothing counted", map[string]dataplane.Stats{})
}

// Hosts report while the reconciler reads, under -race.
func TestTrafficConcurrent(t *testing.T) {
	tr := placement.NewTraffic()
	var wg sync.WaitGroup
	for h := range 4 {
		wg.Go(func() {
			for i := range uint64(200) {
				tr.Update(fmt.Sprint("h", h), "boot", map[string]dataplane.Stats{"vpce-1": {NewConnections: i + 1}})
				tr.Traffic()
			}
		})
	}
	wg.Wait()
	if got := tr.Traffic()["vpce-1"].NewConnections; got != 800 {
		t.Errorf("4 hosts × 200 connections counted as %d", got)
	}
}

// A replica taking over counts only what grows after each host's first
// report: what came before, the leader before it recorded.
func TestTrafficFromBaselines(t *testing.T) {
	tr := placement.NewTrafficFromBaselines()
	s := func(active int64, conns, in uint64) dataplane.Stats {
		return dataplane.Stats{ActiveConnections: active, NewConnections: conns, BytesIn: in}
	}
	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(2, 10, 1000)})
	if got, want := fmt.Sprint(tr.Traffic()), fmt.Sprint(map[string]dataplane.Stats{"vpce-1": s(2, 0, 0)}); got != want {
		t.Fatalf("after the first report: %s, want %s (the baseline, its active connections)", got, want)
	}
	tr.Update("h1", "boot-1", map[string]dataplane.Stats{"vpce-1": s(1, 13, 1300)})
	tr.Update("h2", "boot-7", map[string]dataplane.Stats{"vpce-1": s(0, 5, 500)}) // h2's first: a baseline too
	tr.Update("h2", "boot-8", map[string]dataplane.Stats{"vpce-1": s(0, 1, 100)}) // h2 restarted: all of it is new
	if got, want := fmt.Sprint(tr.Traffic()), fmt.Sprint(map[string]dataplane.Stats{"vpce-1": s(1, 4, 400)}); got != want {
		t.Fatalf("growth since the baselines: %s, want %s", got, want)
	}
}
