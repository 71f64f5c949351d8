package placement

import (
	"maps"
	"slices"

	"strait/internal/agent"
)

// Realizer is what one host has realized of its part, as the reconciler reads
// it (status.Realized): the in-process agent, or a remote host's Report.
type Realizer interface {
	Ready(id string) bool
	Removed(id string) bool
}

// HostRealized is what is known of one host when the reconciler settles states.
type HostRealized struct {
	// Realizer is the host's latest report; nil when it has reported nothing.
	Realizer Realizer
	// Current tells that the report is about the host's current part (a remote
	// host's report is of the revision published last; the in-process agent's
	// always is).
	Current bool
	// Reachable tells that the host reports (the registry's judgement: a host
	// that missed its heartbeats is not).
	Reachable bool
}

// Realized is the region's data plane as one status.Realized: what the hosts
// report about their parts.
//
//   - Ready(id) holds when id is in some host's part and every host whose part
//     has id is reachable and reports id ready about its current part. An
//     unreachable host holds back everything new on it.
//   - Removed(id) holds when every reachable host reports, about its current
//     part, that nothing of id is left. An unreachable host does not hold a
//     removal back: when it returns it applies its current part first, which
//     no longer has id, and so removes what it still has of it (as an agent
//     re-adopts its namespaces after a restart). A reachable host that has not
//     yet reported its current part does hold it back, since it may be applying
//     a part that has id.
//
// Hosts in parts but not in the hosts given are unreachable; hosts given
// without a part have an empty one.
type Realized struct {
	holders map[string][]string // object ID → hosts whose part has it
	hosts   map[string]HostRealized
}

// NewRealized combines the hosts' reports about parts (as Split made them).
func NewRealized(parts map[string]agent.State, hosts map[string]HostRealized) Realized {
	r := Realized{holders: map[string][]string{}, hosts: maps.Clone(hosts)}
	for h, p := range parts {
		for _, id := range IDs(p) {
			if !slices.Contains(r.holders[id], h) {
				r.holders[id] = append(r.holders[id], h)
			}
		}
	}
	return r
}

// Ready reports whether every host whose part has id carries it.
func (r Realized) Ready(id string) bool {
	holders := r.holders[id]
	for _, h := range holders {
		s := r.hosts[h]
		if !s.Reachable || !s.Current || s.Realizer == nil || !s.Realizer.Ready(id) {
			return false
		}
	}
	return len(holders) > 0
}

// Removed reports whether no reachable host has anything of id left.
func (r Realized) Removed(id string) bool {
	for _, s := range r.hosts {
		if !s.Reachable {
			continue
		}
		if !s.Current || s.Realizer == nil || !s.Realizer.Removed(id) {
			return false
		}
	}
	return true
}

// IDs lists what the agent reports about in a state (Ready and Removed): VPC,
// instance and endpoint IDs and load balancer ARNs.
func IDs(st agent.State) []string {
	ids := make([]string, 0, len(st.VPCs)+len(st.Instances)+len(st.Endpoints)+len(st.LoadBalancers))
	for _, v := range st.VPCs {
		ids = append(ids, v.ID)
	}
	for _, in := range st.Instances {
		ids = append(ids, in.ID)
	}
	for _, ep := range st.Endpoints {
		ids = append(ids, ep.ID)
	}
	for _, lb := range st.LoadBalancers {
		ids = append(ids, lb.ARN)
	}
	return ids
}

// Report is what a remote host's agent reports after applying its part: the
// revision applied, what of it is ready and what it still has something of.
// ReadyIDs and Present are sorted.
type Report struct {
	Revision uint64
	ReadyIDs []string
	Present  []string
}

// NewReport returns the report of revision with ready and present, sorted.
func NewReport(revision uint64, ready, present []string) Report {
	return Report{Revision: revision, ReadyIDs: slices.Sorted(slices.Values(ready)), Present: slices.Sorted(slices.Values(present))}
}

// Ready reports whether id was ready when the report was made.
func (r Report) Ready(id string) bool {
	_, ok := slices.BinarySearch(r.ReadyIDs, id)
	return ok
}

// Removed reports whether nothing of id was left when the report was made.
func (r Report) Removed(id string) bool {
	_, ok := slices.BinarySearch(r.Present, id)
	return !ok
}
