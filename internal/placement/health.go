package placement

import (
	"cmp"
	"maps"
	"slices"
	"sync"

	"strait/internal/agent"
	"strait/internal/dataplane"
	"strait/internal/model"
)

// TargetHealth is one host's view of one registered target's health: every
// host with a node of a load balancer forwarding to the target's group checks
// the target from that node (package dataplane).
type TargetHealth struct {
	TargetGroup string             `json:"target_group"`
	Target      string             `json:"target"`
	Port        int32              `json:"port"`
	Health      model.TargetHealth `json:"health"`
}

// TargetKey names a registered target: its group, ID and port.
type TargetKey struct {
	Group, Target string
	Port          int32
}

// Key is the target t is about.
func (t TargetHealth) Key() TargetKey { return TargetKey{t.TargetGroup, t.Target, t.Port} }

// HealthOf is a host's view of one target as its proxy reports it
// (dataplane.HealthReport).
func HealthOf(group string, t dataplane.Target, h model.TargetHealth) TargetHealth {
	return TargetHealth{TargetGroup: group, Target: t.ID, Port: int32(t.Addr.Port()), Health: h}
}

// Registered is the set of targets registered in st's target groups: those
// a host with st checks.
func Registered(st agent.State) map[TargetKey]bool {
	out := map[TargetKey]bool{}
	for _, g := range st.TargetGroups {
		for _, t := range g.Targets {
			out[TargetKey{g.ARN, t.ID, int32(t.Addr.Port())}] = true
		}
	}
	return out
}

// Health combines the hosts' views of target health into the one health the
// API shows for each target, and tells which targets' combined health
// changed. A target is healthy when a reachable host sees it healthy (a node
// that reaches it routes to it); otherwise it has the most telling state the
// reachable hosts see, in the order unhealthy, draining, initial, unavailable,
// unused (a host that has just started and sees "initial" does not hide
// another host's verdict), of the first such host by ID. An unreachable host's
// view does not count: the targets it alone saw healthy go unhealthy by the
// other hosts' checks. A target no reachable host sees keeps its last health.
// Once SetHosts has named the hosts, views of other hosts are not taken (a
// report that comes in after its host was removed). Safe for concurrent use.
type Health struct {
	mu          sync.Mutex
	views       map[string]map[TargetKey]model.TargetHealth // host → its view
	known       map[string]bool                             // nil until SetHosts
	unreachable map[string]bool
	combined    map[TargetKey]model.TargetHealth // as last returned
}

// NewHealth returns a Health with no views.
func NewHealth() *Health {
	return &Health{views: map[string]map[TargetKey]model.TargetHealth{}, unreachable: map[string]bool{},
		combined: map[TargetKey]model.TargetHealth{}}
}

// Set takes one change of host's view (the in-process agent reports changes
// one by one) and returns the combined health that changed.
func (h *Health) Set(host string, t TargetHealth) []TargetHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.known != nil && !h.known[host] {
		return nil
	}
	if h.views[host] == nil {
		h.views[host] = map[TargetKey]model.TargetHealth{}
	}
	h.views[host][t.Key()] = t.Health
	return h.recombine([]TargetKey{t.Key()})
}

// Replace takes the whole of host's view (a remote host reports it with each
// report) and returns the combined health that changed.
func (h *Health) Replace(host string, view []TargetHealth) []TargetHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.known != nil && !h.known[host] {
		return nil
	}
	next := make(map[TargetKey]model.TargetHealth, len(view))
	for _, t := range view {
		next[t.Key()] = t.Health
	}
	touched := slices.Collect(maps.Keys(next))
	for k := range h.views[host] {
		if _, ok := next[k]; !ok {
			touched = append(touched, k)
		}
	}
	h.views[host] = next
	return h.recombine(touched)
}

// SetHosts names the region's hosts and which of them do not report (the
// others do); the views of hosts not named are dropped, and later ones not
// taken. It returns the combined health that changed.
func (h *Health) SetHosts(hosts, unreachable []string) []TargetHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	known := map[string]bool{}
	for _, id := range hosts {
		known[id] = true
	}
	next := map[string]bool{}
	for _, id := range unreachable {
		next[id] = true
	}
	var touched []TargetKey
	for id, view := range h.views {
		if !known[id] || next[id] != h.unreachable[id] {
			touched = slices.AppendSeq(touched, maps.Keys(view))
		}
		if !known[id] {
			delete(h.views, id)
		}
	}
	h.known, h.unreachable = known, next
	return h.recombine(touched)
}

// Retain keeps of host's view only the targets in keep (those it still
// checks: a host that reports changes one by one never says it stopped) and
// returns the combined health that changed.
func (h *Health) Retain(host string, keep map[TargetKey]bool) []TargetHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	var touched []TargetKey
	for k := range h.views[host] {
		if !keep[k] {
			delete(h.views[host], k)
			touched = append(touched, k)
		}
	}
	return h.recombine(touched)
}

// recombine works out the combined health of keys; the caller holds h.mu.
// Targets no host sees any longer are forgotten (deregistered, or their
// groups no longer used), so the maps grow only with the registered targets.
func (h *Health) recombine(keys []TargetKey) []TargetHealth {
	slices.SortFunc(keys, func(a, b TargetKey) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Port, b.Port))
	})
	keys = slices.Compact(keys)
	hosts := slices.Sorted(maps.Keys(h.views))
	var changed []TargetHealth
	for _, k := range keys {
		var best model.TargetHealth
		found, seen := false, false
		for _, id := range hosts {
			v, ok := h.views[id][k]
			if !ok {
				continue
			}
			seen = true
			if h.unreachable[id] {
				continue
			}
			if !found || rank(v.State) < rank(best.State) {
				best, found = v, true
			}
		}
		if !seen {
			delete(h.combined, k)
			continue
		}
		if !found {
			continue
		}
		if old, ok := h.combined[k]; ok && old.State == best.State && old.Reason == best.Reason && old.Description == best.Description {
			continue
		}
		h.combined[k] = best
		changed = append(changed, TargetHealth{TargetGroup: k.Group, Target: k.Target, Port: k.Port, Health: best})
	}
	return changed
}

// rank orders target states by how much they tell: lower wins.
func rank(state string) int {
	switch state {
	case model.TargetHealthy:
		return 0
	case model.TargetUnhealthy:
		return 1
	case model.TargetDraining:
		return 2
	case model.TargetInitial:
		return 3
	case model.TargetUnavailable:
		return 4
	case model.TargetUnused:
		return 5
	}
	return 6
}
