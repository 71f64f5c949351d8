package hostagent

import (
	"cmp"
	"maps"
	"slices"
	"sync"

	"strait/internal/agent"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/placement"
)

// HealthView is the host's view of target health: what its proxy's health
// checks last said of each target (Record is the proxy's
// dataplane.HealthReport). Each report to the server carries the whole of it.
// Safe for concurrent use.
type HealthView struct {
	mu   sync.Mutex
	seen map[placement.TargetKey]placement.TargetHealth
}

// NewHealthView returns an empty view.
func NewHealthView() *HealthView {
	return &HealthView{seen: map[placement.TargetKey]placement.TargetHealth{}}
}

// Record takes a change of a target's health.
func (v *HealthView) Record(group string, t dataplane.Target, h model.TargetHealth) {
	th := placement.HealthOf(group, t, h)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen[th.Key()] = th
}

// Snapshot is the view of the targets registered in part's target groups,
// sorted; what it holds of other targets (deregistered, or of groups the part
// no longer has) is dropped.
func (v *HealthView) Snapshot(part agent.State) []placement.TargetHealth {
	registered := placement.Registered(part)
	v.mu.Lock()
	defer v.mu.Unlock()
	maps.DeleteFunc(v.seen, func(k placement.TargetKey, _ placement.TargetHealth) bool { return !registered[k] })
	out := slices.Collect(maps.Values(v.seen))
	slices.SortFunc(out, func(a, b placement.TargetHealth) int {
		return cmp.Or(cmp.Compare(a.TargetGroup, b.TargetGroup), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Port, b.Port))
	})
	return out
}
