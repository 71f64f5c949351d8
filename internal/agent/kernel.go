package agent

import (
	"maps"
	"net/netip"
	"slices"

	"strait/internal/agent/translate"
	"strait/internal/dataplane"
)

// The kernel path: endpoint listeners whose target group needs no relay are
// translated in the kernel (package translate) instead of being accepted by
// the relay. Load balancer nodes keep their relay listeners for traffic from
// inside the provider VPC.

// kernelPlan is what the kernel carries for one desired state.
type kernelPlan struct {
	nss []translate.Namespace
	// owners maps each VPC with entries to the endpoints that have them, so a
	// failing VPC fails its endpoints.
	owners map[string][]string
	// enis maps each counted ENI address, per VPC, to its endpoint.
	enis map[string]map[netip.Addr]endpointRef
	// routes maps node transit addresses to their VPC's transit address.
	routes map[netip.Addr]netip.Addr
	// links holds the transit address of each VPC that has one.
	links map[string]netip.Addr
	// remote maps the endpoints with entries to nodes on other hosts to
	// those nodes' transit addresses; they need the backbone's transit link.
	remote map[string][]netip.Addr
	// dropped says, by "VPC ENI:port", why an endpoint listener to a load
	// balancer with nodes on other hosts only is not carried at all.
	dropped map[string]string
	// transit maps the relay's listeners on this host's nodes' transit
	// addresses (dataplane.Entry.Transit, added to want) to their load
	// balancers; listenAt holds those addresses per VPC, which its
	// namespace must hold as its own (netns.Host.SetTransitListeners).
	transit  map[listenKey]string
	listenAt map[string][]netip.Addr
}

type endpointRef struct{ id, service string }

// kernelListener reports whether connections to listener port of lb are
// translated in the kernel: forwarding is kernel, the listener's target group
// wants no relay (no PROXY v2, no relay attribute), and the load balancer's
// VPC and nodes have transit addresses.
func (a *Agent) kernelListener(lb LoadBalancer, port uint16, groups map[string]dataplane.TargetGroup, links map[string]netip.Addr) (dataplane.Listener, bool) {
	if a.forwarding != ForwardKernel || !links[lb.VpcID].IsValid() || len(lb.Transit) != len(lb.Nodes) {
		return dataplane.Listener{}, false
	}
	for _, t := range lb.Transit {
		if !t.IsValid() {
			return dataplane.Listener{}, false
		}
	}
	for _, l := range lb.Listeners {
		if l.Port != port {
			continue
		}
		g, ok := groups[l.TargetGroup]
		return l, ok && !g.ProxyProtocolV2 && !g.Relay
	}
	return dataplane.Listener{}, false
}

// planKernel decides which endpoint listeners of want the kernel carries,
// removes them from want (the relay does not listen there) and builds the
// translation of every VPC. The proxy must have st's configuration.
func (a *Agent) planKernel(st State, want map[listenKey]dataplane.Entry) kernelPlan {
	p := kernelPlan{owners: map[string][]string{}, enis: map[string]map[netip.Addr]endpointRef{}, routes: map[netip.Addr]netip.Addr{}, links: map[string]netip.Addr{},
		remote: map[string][]netip.Addr{}, dropped: map[string]string{}, transit: map[listenKey]string{}, listenAt: map[string][]netip.Addr{}}
	for _, v := range st.VPCs {
		if v.TransitIP.IsValid() {
			p.links[v.ID] = v.TransitIP
		}
	}
	groups := make(map[string]dataplane.TargetGroup, len(st.TargetGroups))
	for _, g := range st.TargetGroups {
		groups[g.ARN] = g
	}
	for _, g := range st.RemoteTargetGroups {
		if _, ok := groups[g.ARN]; !ok {
			groups[g.ARN] = g
		}
	}
	remote := make(map[string]LoadBalancer, len(st.RemoteLoadBalancers))
	for _, lb := range st.RemoteLoadBalancers {
		remote[lb.ARN] = lb
	}
	lbs := make(map[string]LoadBalancer, len(st.LoadBalancers))
	byVPC := map[string]*translate.Namespace{}
	ns := func(vpc string) *translate.Namespace {
		if byVPC[vpc] == nil {
			byVPC[vpc] = &translate.Namespace{VPC: vpc}
		}
		return byVPC[vpc]
	}
	for _, lb := range st.LoadBalancers {
		lbs[lb.ARN] = lb
		for _, t := range lb.Transit {
			if t.IsValid() && p.links[lb.VpcID].IsValid() {
				p.routes[t] = p.links[lb.VpcID]
			}
		}
		for _, l := range lb.Listeners {
			if _, ok := a.kernelListener(lb, l.Port, groups, p.links); !ok {
				continue
			}
			g := groups[l.TargetGroup]
			registered := make([]netip.AddrPort, 0, len(g.Targets))
			for _, t := range g.Targets {
				registered = append(registered, t.Addr)
			}
			slices.SortFunc(registered, netip.AddrPort.Compare)
			registered = slices.Compact(registered)
			for i, n := range lb.Nodes {
				ns(lb.VpcID).Exits = append(ns(lb.VpcID).Exits, translate.Exit{
					Node:       netip.AddrPortFrom(lb.Transit[i], l.Port),
					Source:     n.IP,
					Targets:    a.relay.Eligible(lb.ARN, n.AZ, l.Port),
					Registered: registered,
					Idle:       l.Idle(),
				})
			}
		}
	}
	p.planTransitListeners(a, st, want, groups)
	peers := peerIDs(st)
	onPeer := func(node netip.Addr) bool { return peers[st.RemoteNodes[node]] }
	for k, e := range want {
		if e.EndpointID == "" {
			continue
		}
		lb, local := lbs[e.LoadBalancer]
		if !local {
			if r, ok := remote[e.LoadBalancer]; ok {
				// Carried by the kernel, by the relay to the node's transit
				// address (a new entry), or not at all.
				if relayed, ok := a.planRemoteEntry(&p, st, k, e, r, groups, onPeer, ns); ok {
					want[k] = relayed
				} else {
					delete(want, k)
				}
			}
			continue
		}
		if !p.links[k.vpc].IsValid() {
			continue
		}
		l, ok := a.kernelListener(lb, e.Port, groups, p.links)
		if !ok || lb.VpcID == k.vpc {
			// An endpoint in its service's own VPC stays on the relay: its
			// translated replies would come back to the VPC's own transit
			// address inside the same conntrack table and never reach the
			// consumer's half of the flow.
			continue
		}
		node, ok := a.relay.Node(lb.ARN, e.AZ)
		i := slices.IndexFunc(lb.Nodes, func(n dataplane.Node) bool { return n == node })
		if !ok || i < 0 {
			continue
		}
		delete(want, k)
		p.addEntry(ns(k.vpc), k, e, translate.Entry{ENI: k.addr, Node: netip.AddrPortFrom(lb.Transit[i], e.Port), Idle: l.Idle()})
	}
	// What the relay carries now: flows translated before it took over
	// finish where they are.
	for k, e := range want {
		if e.EndpointID != "" && p.links[k.vpc].IsValid() {
			ns(k.vpc).Relayed = append(ns(k.vpc).Relayed, k.addr)
		}
	}
	for _, lb := range st.LoadBalancers {
		for _, l := range lb.Listeners {
			if _, ok := a.kernelListener(lb, l.Port, groups, p.links); ok || len(lb.Transit) != len(lb.Nodes) {
				continue
			}
			for _, t := range lb.Transit {
				if t.IsValid() && p.links[lb.VpcID].IsValid() {
					ns(lb.VpcID).Relayed = append(ns(lb.VpcID).Relayed, netip.AddrPortFrom(t, l.Port))
				}
			}
		}
	}
	for _, vpc := range slices.Sorted(maps.Keys(byVPC)) {
		n := byVPC[vpc]
		slices.SortFunc(n.Entries, func(x, y translate.Entry) int { return x.ENI.Compare(y.ENI) })
		slices.SortFunc(n.Exits, func(x, y translate.Exit) int { return x.Node.Compare(y.Node) })
		slices.SortFunc(n.Counted, netip.Addr.Compare)
		slices.SortFunc(n.Relayed, netip.AddrPort.Compare)
		p.nss = append(p.nss, *n)
	}
	return p
}

// addEntry adds an endpoint ENI's entry to its VPC's namespace n, counting
// the ENI and making the endpoint one of the VPC's owners.
func (p *kernelPlan) addEntry(n *translate.Namespace, k listenKey, e dataplane.Entry, entry translate.Entry) {
	n.Entries = append(n.Entries, entry)
	if p.enis[k.vpc] == nil {
		p.enis[k.vpc] = map[netip.Addr]endpointRef{}
	}
	if _, counted := p.enis[k.vpc][k.addr.Addr()]; !counted {
		n.Counted = append(n.Counted, k.addr.Addr())
		p.enis[k.vpc][k.addr.Addr()] = endpointRef{e.EndpointID, e.ServiceID}
	}
	if !slices.Contains(p.owners[k.vpc], e.EndpointID) {
		p.owners[k.vpc] = append(p.owners[k.vpc], e.EndpointID)
	}
}

// planRemoteEntry plans endpoint listener k (entry e) to r, a load balancer
// with nodes on other hosts only (State.RemoteLoadBalancers), to its node in
// the ENI's zone, else its first, across the backbone's transit link:
//   - by the kernel (an entry of namespace ns(k.vpc)) when forwarding is
//     kernel, the listener's target group wants no relay and the endpoint is
//     not in the service's own VPC;
//   - otherwise by the relay: it returns e with Remote set (the relay dials
//     the node's transit address, where the node's host listens for it,
//     planTransitListeners) and ok;
//   - not at all when the node is not reachable, recorded in p.dropped.
//
// onPeer tells the nodes on backbone peers, the only ones routed. The node's
// host decides kernel or relay the same way: hosts of a region run the same
// --forwarding.
func (a *Agent) planRemoteEntry(p *kernelPlan, st State, k listenKey, e dataplane.Entry, r LoadBalancer, groups map[string]dataplane.TargetGroup, onPeer func(netip.Addr) bool, ns func(string) *translate.Namespace) (relayed dataplane.Entry, ok bool) {
	drop := func(why string) { p.dropped[k.vpc+" "+k.addr.String()] = why }
	i := slices.IndexFunc(r.Listeners, func(l dataplane.Listener) bool { return l.Port == e.Port })
	if i < 0 {
		return dataplane.Entry{}, false
	}
	l := r.Listeners[i]
	g, known := groups[l.TargetGroup]
	node := remoteNode(r, e.AZ, onPeer)
	kernel := a.forwarding == ForwardKernel && !g.ProxyProtocolV2 && !g.Relay
	switch {
	case !p.links[k.vpc].IsValid():
		drop("the endpoint's VPC has no transit address yet")
	case !node.IsValid():
		drop("none of the load balancer's nodes is on a backbone peer with a transit address (a host of another backbone method, without a key, or sharing this host's address is not a peer)")
	case !st.HostTransit.IsValid():
		drop("this host has no transit address of its own (model.Host.TransitIP)")
	case !known:
		drop("its target group is not known here yet")
	case kernel && r.VpcID == k.vpc:
		drop("the endpoint is in the service's own VPC, which the kernel path does not carry, and its target group wants no relay (the node's host translates its port in the kernel)")
	case kernel:
		p.addEntry(ns(k.vpc), k, e, translate.Entry{ENI: k.addr, Node: netip.AddrPortFrom(node, e.Port), Idle: l.Idle()})
	default:
		e.Remote = dataplane.Remote{VPC: k.vpc, Node: netip.AddrPortFrom(node, e.Port), Idle: l.Idle()}
		relayed, ok = e, true
	}
	if p.dropped[k.vpc+" "+k.addr.String()] == "" && !slices.Contains(p.remote[e.EndpointID], node) {
		p.remote[e.EndpointID] = append(p.remote[e.EndpointID], node)
	}
	return relayed, ok
}

// planTransitListeners adds to want the relay's listeners on the transit
// addresses of this host's load balancer nodes, for each listener port the
// kernel does not translate (kernelListener): other hosts' relays reach the
// node there (dataplane.Entry.Transit). Only hosts of a backbone (with a
// transit address of their own) have them, and only nodes whose VPC and
// node have transit addresses.
func (p *kernelPlan) planTransitListeners(a *Agent, st State, want map[listenKey]dataplane.Entry, groups map[string]dataplane.TargetGroup) {
	if !st.HostTransit.IsValid() {
		return
	}
	for _, lb := range st.LoadBalancers {
		if !p.links[lb.VpcID].IsValid() {
			continue
		}
		for _, l := range lb.Listeners {
			if _, kernel := a.kernelListener(lb, l.Port, groups, p.links); kernel {
				continue
			}
			for i, n := range lb.Nodes {
				if i >= len(lb.Transit) || !lb.Transit[i].IsValid() {
					continue
				}
				k := listenKey{lb.VpcID, netip.AddrPortFrom(lb.Transit[i], l.Port)}
				want[k] = dataplane.Entry{ServiceID: lb.ServiceID, AZ: n.AZ, LoadBalancer: lb.ARN, Port: l.Port, Transit: true}
				p.transit[k] = lb.ARN
				if !slices.Contains(p.listenAt[lb.VpcID], lb.Transit[i]) {
					p.listenAt[lb.VpcID] = append(p.listenAt[lb.VpcID], lb.Transit[i])
				}
			}
		}
	}
	for _, addrs := range p.listenAt {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
}

// remoteNode is the transit address of lb's node in zone az, else of its
// first node, among the nodes with a transit address that reachable accepts
// (on a backbone peer); invalid when there is none.
func remoteNode(lb LoadBalancer, az string, reachable func(netip.Addr) bool) netip.Addr {
	var first netip.Addr
	for i, n := range lb.Nodes {
		if i >= len(lb.Transit) || !lb.Transit[i].IsValid() || !reachable(lb.Transit[i]) {
			continue
		}
		if n.AZ == az {
			return lb.Transit[i]
		}
		if !first.IsValid() {
			first = lb.Transit[i]
		}
	}
	return first
}
