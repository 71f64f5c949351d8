package placement

import (
	"maps"
	"sync"

	"strait/internal/dataplane"
)

// Traffic adds up the hosts' per-endpoint traffic counters into one set of
// running counters (what reconcile's TrafficCounter returns). Each host
// reports the counters of its agent process; the totals grow by each host's
// increments, so a host whose counters start again (its agent restarted: a
// new epoch, or counters that went back) neither takes away nor counts twice
// what it reported before. ActiveConnections is the sum of the hosts' latest.
// Safe for concurrent use.
type Traffic struct {
	mu       sync.Mutex
	hosts    map[string]hostCounters
	total    map[string]dataplane.Stats // endpoint → running totals
	baseline bool                       // a host's first counters are a baseline (NewTrafficFromBaselines)
}

type hostCounters struct {
	epoch    string
	counters map[string]dataplane.Stats
}

// NewTraffic returns totals that start at zero.
func NewTraffic() *Traffic {
	return &Traffic{hosts: map[string]hostCounters{}, total: map[string]dataplane.Stats{}}
}

// NewTrafficFromBaselines returns totals that start at zero and take each
// host's first counters as its baseline, not as growth: for a server replica
// that takes over from another, which recorded the hosts' traffic up to then.
func NewTrafficFromBaselines() *Traffic {
	t := NewTraffic()
	t.baseline = true
	return t
}

// Update takes a host's counters per endpoint, counted by its agent process
// epoch (e.g. the process's start time) since it started.
func (t *Traffic) Update(host, epoch string, counters map[string]dataplane.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, seen := t.hosts[host]
	if !seen && t.baseline {
		prev = hostCounters{epoch: epoch, counters: counters}
	}
	if prev.epoch != epoch {
		prev.counters = nil
	}
	for id, cur := range counters {
		old := prev.counters[id]
		tot := t.total[id]
		tot.NewConnections += grown(cur.NewConnections, old.NewConnections)
		tot.BytesIn += grown(cur.BytesIn, old.BytesIn)
		tot.BytesOut += grown(cur.BytesOut, old.BytesOut)
		tot.Rejected += grown(cur.Rejected, old.Rejected)
		t.total[id] = tot
	}
	t.hosts[host] = hostCounters{epoch: epoch, counters: maps.Clone(counters)}
	t.prune()
}

// Forget drops a host that left the region: its active connections no longer
// count. (A host that is only unreachable stays, so that its counters, when it
// returns with the same epoch, are not counted twice.)
func (t *Traffic) Forget(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.hosts, host)
	t.prune()
}

// prune drops the totals of endpoints no host counts any more.
func (t *Traffic) prune() {
	for id := range t.total {
		counted := false
		for _, h := range t.hosts {
			if _, ok := h.counters[id]; ok {
				counted = true
				break
			}
		}
		if !counted {
			delete(t.total, id)
		}
	}
}

// Traffic returns each endpoint's running totals.
func (t *Traffic) Traffic() map[string]dataplane.Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]dataplane.Stats, len(t.total))
	for id, s := range t.total {
		s.ActiveConnections = 0
		for _, h := range t.hosts {
			s.ActiveConnections += h.counters[id].ActiveConnections
		}
		out[id] = s
	}
	return out
}

// grown is how much a counter grew; a counter that went back (its process
// forgot the endpoint and counts it again) grew by all it has.
func grown(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}
