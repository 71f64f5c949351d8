package relay

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"strait/internal/dataplane"
	"strait/internal/model"
)

// HealthReport is a target's health as the relay process's checks last saw
// it; Seq orders the reports of one relay process.
type HealthReport struct {
	Group  string
	Target dataplane.Target
	Health model.TargetHealth
	Seq    uint64
}

type healthKey struct {
	group string
	id    string
	addr  netip.AddrPort
}

// healthLog keeps the last report of every configured target, so that a client
// that connects later (a restarted server) learns every target's health, and
// one that stays connected waits for what changed since its last poll.
type healthLog struct {
	mu      sync.Mutex
	seq     uint64
	latest  map[healthKey]HealthReport
	changed chan struct{} // closed at the next report
}

func newHealthLog() *healthLog {
	return &healthLog{latest: map[healthKey]HealthReport{}, changed: make(chan struct{})}
}

// add records a report (a dataplane.HealthReport).
func (l *healthLog) add(group string, t dataplane.Target, h model.TargetHealth) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.latest[healthKey{group, t.ID, t.Addr}] = HealthReport{Group: group, Target: t, Health: h, Seq: l.seq}
	close(l.changed)
	l.changed = make(chan struct{})
}

// retain drops the reports of targets cfg no longer has, which keeps the log
// as large as the configuration.
func (l *healthLog) retain(cfg dataplane.Config) {
	keep := map[healthKey]bool{}
	for _, g := range cfg.TargetGroups {
		for _, t := range g.Targets {
			keep[healthKey{g.ARN, t.ID, t.Addr}] = true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.latest {
		if !keep[k] {
			delete(l.latest, k)
		}
	}
}

// since returns the reports newer than seq (every target's last with 0),
// waiting up to wait for one when there is none, and the sequence number to
// ask from next.
func (l *healthLog) since(ctx context.Context, seq uint64, wait time.Duration) ([]HealthReport, uint64) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if seq > l.seq {
			seq = 0 // a sequence of another relay process: start over
		}
		var out []HealthReport
		for _, r := range l.latest {
			if r.Seq > seq {
				out = append(out, r)
			}
		}
		next, changed := l.seq, l.changed
		l.mu.Unlock()
		if len(out) > 0 {
			slices.SortFunc(out, func(a, b HealthReport) int { return cmp.Compare(a.Seq, b.Seq) })
			return out, next
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, next
		case <-ctx.Done():
			return nil, next
		}
	}
}
