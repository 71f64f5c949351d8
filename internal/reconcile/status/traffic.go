package status

import (
	"context"
	"maps"
	"slices"
	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// TrafficReport is what a data plane counted through one endpoint since its
// previous report: Connections, BytesIn, BytesOut and Rejected are increments,
// ActiveConnections is the current number.
type TrafficReport struct {
	Connections       uint64
	ActiveConnections int64
	BytesIn           uint64
	BytesOut          uint64
	Rejected          uint64
}

// RecordTraffic adds data-plane traffic reports to the endpoints' traffic records,
// in one transaction. Reports for endpoints that no longer exist are dropped. It is
// an observation, not a change of desired state: the reconciler is not woken.
func (c *Status) RecordTraffic(ctx context.Context, reports map[string]TrafficReport) error {
	if len(reports) == 0 {
		return nil
	}
	now := c.Now().UTC()
	ids := slices.Sorted(maps.Keys(reports))
	return c.Store().Update(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if !tx.Exists(core.Key(model.KindEndpoint, id)) {
				continue
			}
			r := reports[id]
			var t model.EndpointTraffic
			if _, err := tx.Get(core.Key(model.KindEndpointTraffic, id), &t); err != nil {
				return err
			}
			t.Connections += r.Connections
			t.BytesIn += r.BytesIn
			t.BytesOut += r.BytesOut
			t.Rejected += r.Rejected
			t.ActiveConnections = r.ActiveConnections
			t.Updated = now
			if err := tx.Put(core.Key(model.KindEndpointTraffic, id), t); err != nil {
				return err
			}
		}
		return nil
	})
}
