package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"time"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/translate"
	"strait/internal/dataplane"
)

// Agent applies desired states to the host and remembers what it realized, which
// the reconciler reads back (it implements status.Realized).
type Agent struct {
	host  *netns.Host
	fw    Firewall
	relay Relay
	log   *slog.Logger

	forwarding Forwarding
	tr         *translate.Translator
	bb         Backbone      // nil: the host does not join the backbone
	bbState    backboneState // what bb was last given

	applyMu   sync.Mutex // one Apply at a time
	vpcs      map[string]netns.VPC
	instances map[string]netns.Instance
	addrs     map[string]map[netip.Addr]netns.ENI                       // VPC → ENI addresses applied
	vpcFW     map[string]appliedFirewall[map[netip.Addr]firewall.Rules] // VPC → firewall applied
	instFW    map[string]appliedFirewall[firewall.Rules]                // instance → firewall applied
	resolvers map[string]map[string][]netip.Addr                        // VPC → the names last given to its resolver
	relayCfg  *dataplane.Config                                         // the routing last given to the relay
	relayGen  string                                                    // the relay's Generation at the last Apply
	ph        *phases                                                   // the running Apply's step timings
	links     map[string]netip.Addr                                     // VPC → transit address linked
	listenAt  map[string][]netip.Addr                                   // VPC → the nodes' transit addresses its namespace holds
	routes    map[netip.Addr]netip.Addr                                 // transit routes applied
	last      *State                                                    // the state last applied
	dropped   map[string]string                                         // endpoint listeners not carried, as last logged
	closed    bool                                                      // Close was called

	mu        sync.RWMutex // guards ready, known, endpoints and services
	ready     map[string]bool
	known     map[string]bool // everything that has something on the host
	endpoints map[string]bool // endpoints whose traffic the proxy counts
	services  map[string]bool // endpoint services whose traffic the proxy counts
	// kernelENIs maps the ENI addresses the kernel path counts, per VPC, to
	// their endpoints.
	kernelENIs map[string]map[netip.Addr]endpointRef

	kbaseMu  sync.Mutex
	kbase    map[string]translate.Counts // "VPC/ENI" → counters at this process's start
	kactive  map[string]int64            // "VPC/ENI" → open flows when last counted
	activeAt time.Time                   // when open flows were last counted
}

// listenKey identifies a data-plane listener: an address and port in a VPC.
type listenKey struct {
	vpc  string
	addr netip.AddrPort
}

// New returns an agent that realizes states on host, with fw loading the
// security groups' rules and relay carrying the traffic. It adopts the
// namespaces a previous run left, and the listeners the relay still has
// (Relay.Listening): the first Apply keeps those still wanted and removes the
// rest.
func New(host *netns.Host, fw Firewall, relay Relay, log *slog.Logger, opts ...Option) (*Agent, error) {
	a := &Agent{
		host: host, fw: fw, relay: relay, log: log,
		vpcs: map[string]netns.VPC{}, instances: map[string]netns.Instance{}, addrs: map[string]map[netip.Addr]netns.ENI{},
		vpcFW: map[string]appliedFirewall[map[netip.Addr]firewall.Rules]{}, instFW: map[string]appliedFirewall[firewall.Rules]{},
		resolvers: map[string]map[string][]netip.Addr{},
		ready:     map[string]bool{}, known: map[string]bool{},
		links: map[string]netip.Addr{}, listenAt: map[string][]netip.Addr{}, kactive: map[string]int64{},
	}
	for _, o := range opts {
		o(a)
	}
	a.tr = translate.New(host.NamespaceFd, log)
	vpcs, insts, err := host.Managed()
	if err != nil {
		return nil, err
	}
	// Adopted namespaces are known but not yet applied: Apply re-checks them.
	for _, id := range vpcs {
		a.vpcs[id] = netns.VPC{ID: id}
		a.known[id] = true
	}
	for _, id := range insts {
		a.instances[id] = netns.Instance{ID: id}
		a.known[id] = true
	}
	eps, svcs := relay.Counted()
	a.endpoints, a.services = setOf(eps), setOf(svcs)
	relay.OnHealthChange(a.refreshKernel)
	relay.OnCollect(a.collectTraffic)
	return a, nil
}

// Ready implements status.Realized.
func (a *Agent) Ready(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.ready[id]
}

// Removed implements status.Realized.
func (a *Agent) Removed(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return !a.known[id]
}

// Apply makes the host match st: it creates and wires what is missing, changes what
// differs, removes what st no longer has, and records what is ready. It goes on
// past a failing object (reported in the returned error) so one broken resource
// does not hold the others back; the next Apply retries it. What did not change
// since the last Apply costs a comparison, not a change on the host: addresses,
// firewall elements and listeners are changed by difference.
func (a *Agent) Apply(ctx context.Context, st State) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	a.ph = newPhases()
	defer func() { a.log.Debug("agent apply", a.ph.attrs()...) }()
	if g := a.relay.Generation(); g != a.relayGen {
		// Another relay process: what the last one was given may be missing.
		a.relayGen, a.relayCfg = g, nil
		clear(a.resolvers)
	}
	var errs []error
	ready := map[string]bool{}
	known := map[string]bool{}
	step := a.ph.stepper()

	vpcs := map[string]VPC{}
	for _, v := range st.VPCs {
		vpcs[v.ID] = v
		known[v.ID] = true
		if err := a.applyVPC(v); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s: %w", v.ID, err))
			continue
		}
		ready[v.ID] = true
	}
	for _, in := range st.Instances {
		known[in.ID] = true
		if !ready[in.VpcID] {
			continue
		}
		if err := a.applyInstance(in, vpcs[in.VpcID], st.Groups); err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.ID, err))
			continue
		}
		ready[in.ID] = true
	}
	step("vpcs_instances")
	bbFailed, bbErrs := a.applyBackbone(st, ready)
	errs = append(errs, bbErrs...)
	step("backbone")

	enis, fws := vpcInterfaces(st)
	for _, ep := range st.Endpoints {
		known[ep.ID] = true
	}
	for _, lb := range st.LoadBalancers {
		known[lb.ARN] = true
	}
	step("collect")
	addrOK := map[string]bool{}
	for id, v := range vpcs {
		if !ready[id] {
			continue
		}
		if err := a.applyAddresses(v, enis[id], fws[id], st.Groups); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s addresses: %w", id, err))
			continue
		}
		addrOK[id] = true
	}

	// Routing first, then listeners: a listener never accepts into a stale route.
	cfg := dataplane.Config{TargetGroups: st.TargetGroups}
	for _, lb := range st.LoadBalancers {
		cfg.LoadBalancers = append(cfg.LoadBalancers, lb.LoadBalancer)
	}
	if a.relayCfg == nil || !reflect.DeepEqual(*a.relayCfg, cfg) {
		a.relay.Configure(cfg)
		a.relayCfg = &cfg
	}
	step("proxy")

	want, owner := wantListeners(st)
	plan := a.planKernel(st, want)
	for k, arn := range plan.transit {
		owner[k] = arn
	}
	errs = append(errs, a.applyTransitListeners(plan, addrOK, !st.HostTransit.IsValid())...)
	failed, lerrs := a.applyListeners(want, owner, addrOK)
	errs = append(errs, lerrs...)
	kfailed, kerrs := a.applyKernel(plan, addrOK)
	errs = append(errs, kerrs...)
	for id := range kfailed {
		failed[id] = true
	}
	tfailed, terr := a.applyBackboneTransit(st, plan)
	if terr != nil {
		errs = append(errs, terr)
	}
	for id := range tfailed {
		failed[id] = true
	}
	a.logDropped(plan.dropped)
	a.last = &st
	for _, lb := range st.LoadBalancers {
		if addrOK[lb.VpcID] && !failed[lb.ARN] {
			ready[lb.ARN] = true
		}
	}
	for _, ep := range st.Endpoints {
		if addrOK[ep.VpcID] && !failed[ep.ID] && ep.Open {
			ready[ep.ID] = true
		}
	}
	step("listeners_kernel")

	for id, v := range vpcs {
		if ready[id] {
			if err := a.applyResolver(v); err != nil {
				errs = append(errs, fmt.Errorf("vpc %s resolver: %w", id, err))
			}
		}
	}
	step("resolvers")

	errs = append(errs, a.removeUnknown(known)...)
	step("removals")
	for id := range bbFailed {
		delete(ready, id) // its namespace is set up, but not its remote subnets
	}
	a.mu.Lock()
	a.ready, a.known = ready, known
	a.forgetCounters(st)
	a.mu.Unlock()
	step("counters")
	return errors.Join(errs...)
}

// vpcInterfaces collects, per VPC, the ENIs of endpoints and load balancers and
// the firewall of each ENI address that has one. An endpoint's firewall takes the
// ingress rules its load balancers enforce on PrivateLink traffic.
func vpcInterfaces(st State) (map[string][]netns.ENI, map[string]map[netip.Addr]firewall.Rules) {
	enis := map[string][]netns.ENI{}
	fws := map[string]map[netip.Addr]firewall.Rules{}
	addFW := func(vpc string, ip netip.Addr, fw firewall.Rules) {
		if fws[vpc] == nil {
			fws[vpc] = map[netip.Addr]firewall.Rules{}
		}
		fws[vpc][ip] = fw
	}
	enforced := map[string][]firewall.Rule{} // LB ARN → ingress rules PrivateLink traffic must pass
	for _, lb := range slices.Concat(st.LoadBalancers, st.RemoteLoadBalancers) {
		if _, local := enforced[lb.ARN]; local {
			continue
		}
		if lb.Firewall != nil && lb.EnforceOnPrivateLink {
			enforced[lb.ARN] = append([]firewall.Rule{}, lb.Firewall.Ingress...)
		}
	}
	for _, ep := range st.Endpoints {
		enis[ep.VpcID] = append(enis[ep.VpcID], ep.ENIs...)
		fw := ep.Firewall
		for _, arn := range ep.LoadBalancers {
			if rules, ok := enforced[arn]; ok {
				fw.AlsoIngress = append(append([]firewall.Rule{}, fw.AlsoIngress...), rules...)
			}
		}
		for _, e := range ep.ENIs {
			addFW(ep.VpcID, e.IP, fw)
		}
	}
	for _, lb := range st.LoadBalancers {
		enis[lb.VpcID] = append(enis[lb.VpcID], lb.ENIs...)
		if lb.Firewall != nil {
			for _, e := range lb.ENIs {
				addFW(lb.VpcID, e.IP, *lb.Firewall)
			}
		}
	}
	return enis, fws
}

// removeUnknown removes the namespaces of instances and VPCs that are not known
// any more, instances before their VPCs. What fails to go stays known.
func (a *Agent) removeUnknown(known map[string]bool) []error {
	var errs []error
	for id := range a.instances {
		if !known[id] {
			a.fw.Forget(id)
			if err := a.host.RemoveInstance(id); err != nil {
				errs = append(errs, fmt.Errorf("removing instance %s: %w", id, err))
				known[id] = true
				continue
			}
			delete(a.instances, id)
			delete(a.instFW, id)
		}
	}
	for id := range a.vpcs {
		if !known[id] {
			delete(a.resolvers, id)
			a.relay.ForgetVPC(id) // its listeners, resolver and sockets keep the namespace
			a.fw.Forget(id)
			if err := a.host.RemoveVPC(id); err != nil {
				errs = append(errs, fmt.Errorf("removing vpc %s: %w", id, err))
				known[id] = true
				continue
			}
			delete(a.vpcs, id)
			delete(a.addrs, id)
			delete(a.vpcFW, id)
		}
	}
	return errs
}

// logDropped logs, once each, the endpoint listeners that nothing carries
// (kernelPlan.dropped).
func (a *Agent) logDropped(dropped map[string]string) {
	for k, why := range dropped {
		if a.dropped[k] != why {
			a.log.Warn("endpoint listener left closed: its load balancer has nodes on other hosts only, and the kernel path cannot carry it", "listener", k, "reason", why)
		}
	}
	a.dropped = dropped
}

// Close closes the host's spare sockets and the relay's part in this process
// (Relay.Close: with an in-process relay, every listener, relayed connection
// and resolver). The namespaces, addresses and rules stay
// for the next run to adopt (`strait down` removes them), as does a relay
// process.
func (a *Agent) Close() {
	a.applyMu.Lock()
	a.closed = true
	clear(a.resolvers)
	// The proxy's last health reports call refreshKernel, which takes applyMu.
	a.applyMu.Unlock()
	a.relay.Close()
	a.host.CloseSpares()
	if a.bb != nil {
		if err := a.bb.Close(); err != nil {
			a.log.Warn("closing the backbone", "err", err)
		}
	}
}
