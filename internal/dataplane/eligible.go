package dataplane

import (
	"net/netip"
	"slices"
)

// The kernel forwarding path (package agent/translate) translates connections
// in the kernel instead of relaying them: it asks the proxy, which runs the
// health checks and knows the routing, where new connections should go, and is
// told when target health changes.

// Node returns the node of load balancer lb that a connection arriving in zone
// az goes to: the node of that zone, or any node when it has none there; ok is
// false when the load balancer is not configured or has no node.
func (p *Proxy) Node(lb, az string) (n Node, ok bool) {
	r := p.table.Load().lbs[lb]
	if r == nil {
		return Node{}, false
	}
	return r.node(az)
}

// Eligible returns the targets that lb's node in zone nodeAZ chooses among for
// a new connection on listener port, sorted: the healthy ones (and those whose
// health checks are disabled); when none is, every candidate (fail open).
// Candidates are the registered targets that are not draining, of the node's
// zone (and zone "all") or of every zone with cross-zone load balancing. It is
// empty when the listener has no target group or no candidate.
func (p *Proxy) Eligible(lb, nodeAZ string, port uint16) []netip.AddrPort {
	r := p.table.Load().lbs[lb]
	if r == nil || r.listeners[port] == nil {
		return nil
	}
	cands := r.listeners[port].byZone[nodeAZ]
	var healthy, all []netip.AddrPort
	for _, ref := range cands {
		all = append(all, ref.Addr)
		if ref.state.code.Load().routable() {
			healthy = append(healthy, ref.Addr)
		}
	}
	out := healthy
	if len(out) == 0 {
		out = all
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return slices.Compact(out)
}

// OnHealthChange registers fn, called after target health changed (a target
// became healthy, unhealthy, initial or unavailable) and before the change is
// reported (Options.Report): what fn does, the kernel path re-reading
// Eligible, is done by the time the store shows the new health. It runs on the
// proxy's report goroutine; changes that come in a burst may share one call.
func (p *Proxy) OnHealthChange(fn func()) { p.reports.hook.Store(&fn) }

// OnCollect registers fn, called before the metrics are read at a scrape: the
// kernel path brings its counters (SetTranslated) up to date.
func (p *Proxy) OnCollect(fn func()) { p.onCollect.Store(&fn) }
