package reconcile

import (
	"context"
	"time"

	"strait/internal/dataplane"
	"strait/internal/reconcile/status"
)

// trafficEvery is how often the data plane's per-endpoint counters are written to
// the store (at most; only endpoints whose counters changed are written).
const trafficEvery = 2 * time.Second

// TrafficCounter is a data plane that counts traffic per endpoint.
type TrafficCounter interface {
	// Traffic returns each endpoint's counters since the process started.
	Traffic() map[string]dataplane.Stats
}

// trafficReporter turns a data plane's running counters into the increments
// status.RecordTraffic adds to the store.
type trafficReporter struct {
	last map[string]dataplane.Stats // counters as of the last successful report
	at   time.Time
	// baseline: the first counters are taken as last, not reported.
	baseline bool
}

// report writes what changed since the last report, at most every trafficEvery.
func (t *trafficReporter) report(ctx context.Context, st *status.Status, tc TrafficCounter, now time.Time) error {
	if now.Sub(t.at) < trafficEvery {
		return nil
	}
	cur := tc.Traffic()
	if t.baseline {
		t.baseline, t.last, t.at = false, cur, now
		return nil
	}
	reports := map[string]status.TrafficReport{}
	for id, s := range cur {
		prev := t.last[id]
		if s == prev {
			continue
		}
		reports[id] = status.TrafficReport{
			Connections:       delta(s.NewConnections, prev.NewConnections),
			ActiveConnections: s.ActiveConnections,
			BytesIn:           delta(s.BytesIn, prev.BytesIn),
			BytesOut:          delta(s.BytesOut, prev.BytesOut),
			Rejected:          delta(s.Rejected, prev.Rejected),
		}
	}
	if err := st.RecordTraffic(ctx, reports); err != nil {
		return err
	}
	t.last, t.at = cur, now
	return nil
}

// delta is how much a counter grew; a counter that went back (the proxy forgot
// and recreated an endpoint) counts from zero.
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}
