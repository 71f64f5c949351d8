package dataplane

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultIdleTimeout is the NLB's TCP idle timeout, used when a listener sets none.
const DefaultIdleTimeout = 350 * time.Second

// allZones is the zone of targets outside the VPC, reachable from every node.
const allZones = "all"

// table is an immutable routing snapshot built by Configure. Connections load it
// once (atomic pointer) and never lock it.
type table struct {
	lbs    map[string]*lbRoute    // by ARN
	groups map[string]*groupRoute // by ARN
}

// lbRoute is a load balancer in the table.
type lbRoute struct {
	arn       string
	vpcID     string
	serviceID string
	nodes     []Node
	listeners map[uint16]*listenerRoute
}

// listenerRoute is a listener with its candidate targets precomputed per node zone.
type listenerRoute struct {
	lb    *lbRoute
	port  uint16
	group *groupRoute // nil when the listener's group is not configured
	idle  time.Duration
	// byZone holds, for each zone of the load balancer's nodes, the non-draining
	// targets a node there may pick: those of its zone and of zone "all", or all
	// of them with cross-zone load balancing.
	byZone map[string][]*targetRef
}

// groupRoute is a target group in the table.
type groupRoute struct {
	arn     string
	proxyV2 bool
	hc      HealthCheck
	list    []*targetRef // configuration order
	targets map[targetKey]*targetRef
}

// targetKey identifies a registered target within its group.
type targetKey struct {
	id   string
	addr netip.AddrPort
}

// targetRef is a target in the table; state lives across reconfigurations.
type targetRef struct {
	Target
	key   targetKey
	hash  uint64 // selection key
	label string // "ID:port", for metrics and logs
	state *targetState
}

// healthCode is a target's health as routing sees it, stored atomically.
type healthCode int32

const (
	healthUnused      healthCode = iota // no load balancer uses the group: not checked
	healthInitial                       // checks running, thresholds not reached yet
	healthHealthy                       // passed HealthyThreshold checks in a row
	healthUnhealthy                     // failed UnhealthyThreshold checks in a row
	healthUnavailable                   // health checks disabled: routable
)

// String returns the ELBv2 state name.
func (h healthCode) String() string {
	switch h {
	case healthInitial:
		return "initial"
	case healthHealthy:
		return "healthy"
	case healthUnhealthy:
		return "unhealthy"
	case healthUnavailable:
		return "unavailable"
	}
	return "unused"
}

// routable reports whether the target receives new connections without fail-open.
func (h healthCode) routable() bool { return h == healthHealthy || h == healthUnavailable }

// atomicHealth is a healthCode read lock-free by routing.
type atomicHealth struct{ v atomic.Int32 }

func (a *atomicHealth) Load() healthCode   { return healthCode(a.v.Load()) }
func (a *atomicHealth) Store(h healthCode) { a.v.Store(int32(h)) }

// buildTable turns a configuration into a routing table. state returns the
// persistent state of a target, creating it.
func buildTable(cfg Config, state func(group string, k targetKey) *targetState) *table {
	t := &table{
		lbs:    make(map[string]*lbRoute, len(cfg.LoadBalancers)),
		groups: make(map[string]*groupRoute, len(cfg.TargetGroups)),
	}
	for _, g := range cfg.TargetGroups {
		gr := &groupRoute{arn: g.ARN, proxyV2: g.ProxyProtocolV2, hc: g.HealthCheck, targets: make(map[targetKey]*targetRef, len(g.Targets))}
		for _, tg := range g.Targets {
			k := targetKey{tg.ID, tg.Addr}
			if _, dup := gr.targets[k]; dup {
				continue
			}
			ref := &targetRef{
				Target: tg,
				key:    k,
				hash:   keyHash(tg.ID, tg.Addr),
				label:  tg.ID + ":" + strconv.Itoa(int(tg.Addr.Port())),
				state:  state(g.ARN, k),
			}
			gr.targets[k] = ref
			gr.list = append(gr.list, ref)
		}
		t.groups[g.ARN] = gr
	}
	for _, lb := range cfg.LoadBalancers {
		r := &lbRoute{arn: lb.ARN, vpcID: lb.VpcID, serviceID: lb.ServiceID, nodes: lb.Nodes, listeners: make(map[uint16]*listenerRoute, len(lb.Listeners))}
		for _, l := range lb.Listeners {
			lr := &listenerRoute{lb: r, port: l.Port, group: t.groups[l.TargetGroup], idle: l.Idle(), byZone: map[string][]*targetRef{}}
			if lr.group != nil {
				for _, n := range lb.Nodes {
					if _, done := lr.byZone[n.AZ]; done {
						continue
					}
					var c []*targetRef
					for _, ref := range lr.group.list {
						if !ref.Draining && (lb.CrossZone || ref.AZ == n.AZ || ref.AZ == allZones) {
							c = append(c, ref)
						}
					}
					lr.byZone[n.AZ] = c
				}
			}
			r.listeners[l.Port] = lr
		}
		t.lbs[lb.ARN] = r
	}
	return t
}

// node returns the load balancer's node in zone az, or any node when it has none
// there; ok is false when the load balancer has no node.
func (r *lbRoute) node(az string) (Node, bool) {
	for _, n := range r.nodes {
		if n.AZ == az {
			return n, true
		}
	}
	if len(r.nodes) > 0 {
		return r.nodes[0], true
	}
	return Node{}, false
}

// has reports whether the table still routes to target k of group via listener
// port of load balancer lb: established connections of anything else are closed.
func (t *table) has(lb string, port uint16, group string, k targetKey) bool {
	r := t.lbs[lb]
	if r == nil || r.listeners[port] == nil {
		return false
	}
	g := t.groups[group]
	return g != nil && g.targets[k] != nil
}
