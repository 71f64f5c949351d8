package agent

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"strait/internal/agent/translate"
	"strait/internal/dataplane"
)

// applyKernel links ready VPCs to the transit namespace, routes the nodes'
// transit addresses and applies the translation. failed holds the endpoints
// whose entries could not be applied.
func (a *Agent) applyKernel(p kernelPlan, ready map[string]bool) (failed map[string]bool, errs []error) {
	failed = map[string]bool{}
	errs = a.linkTransit(p, ready)
	vpcOf := make(map[netip.Addr]string, len(p.links)) // transit address → its VPC
	for vpc, addr := range p.links {
		vpcOf[addr] = vpc
	}
	routes := map[netip.Addr]netip.Addr{}
	for node, via := range p.routes {
		if _, linked := a.links[vpcOf[via]]; linked {
			routes[node] = via
		}
	}
	if !maps.Equal(routes, a.routes) {
		if err := a.host.SetTransitRoutes(routes); err != nil {
			errs = append(errs, fmt.Errorf("transit routes: %w", err))
		} else {
			a.routes = routes
		}
	}
	var nss []translate.Namespace
	for _, n := range p.nss {
		if _, linked := a.links[n.VPC]; linked {
			nss = append(nss, n)
			continue
		}
		for _, id := range p.owners[n.VPC] {
			failed[id] = true
		}
	}
	if err := a.tr.Apply(nss); err != nil {
		errs = append(errs, err)
		// Which VPC failed is in the error; its endpoints are retried next Apply.
		for _, n := range nss {
			for _, id := range p.owners[n.VPC] {
				failed[id] = true
			}
		}
	}
	a.setBaselines(p.enis)
	a.mu.Lock()
	a.kernelENIs = p.enis
	a.mu.Unlock()
	return failed, errs
}

// linkTransit links the ready VPCs with a transit address to the transit
// namespace (those linked already are left alone).
func (a *Agent) linkTransit(p kernelPlan, ready map[string]bool) (errs []error) {
	for vpc, addr := range p.links {
		if !ready[vpc] || a.links[vpc] == addr {
			continue
		}
		if err := a.host.LinkTransit(vpc, addr); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s transit link: %w", vpc, err))
			continue
		}
		a.links[vpc] = addr
	}
	for vpc := range a.links {
		if _, ok := p.links[vpc]; !ok {
			delete(a.links, vpc) // the VPC went (its link with it) or lost its address
		}
	}
	return errs
}

// applyTransitListeners gives the namespace of each ready VPC the transit
// addresses of its nodes that the relay listens on for other hosts' relays
// (kernelPlan.listenAt), with its transit link, which those listeners are
// bound to, before the listeners open. Each VPC's addresses are set once
// per process (what a previous agent left goes), then on change; a host
// alone (no transit address of its own) has none to set.
func (a *Agent) applyTransitListeners(p kernelPlan, ready map[string]bool, alone bool) (errs []error) {
	errs = a.linkTransit(p, ready)
	for vpc := range a.listenAt {
		if !ready[vpc] {
			delete(a.listenAt, vpc) // gone, or set again when it is back
		}
	}
	if alone && len(a.listenAt) == 0 {
		return errs
	}
	for _, vpc := range slices.Sorted(maps.Keys(ready)) {
		want := p.listenAt[vpc]
		if have, set := a.listenAt[vpc]; set && slices.Equal(have, want) {
			continue
		}
		if err := a.host.SetTransitListeners(vpc, want); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s transit listener addresses: %w", vpc, err))
			delete(a.listenAt, vpc)
			continue
		}
		a.listenAt[vpc] = append([]netip.Addr{}, want...)
	}
	return errs
}

// setBaselines records where each counted ENI's counters start for this
// process: at their value when the process first applies a state (adopted
// counters hold what an earlier process counted and reported), at zero for
// ENIs counted later.
func (a *Agent) setBaselines(enis map[string]map[netip.Addr]endpointRef) {
	a.kbaseMu.Lock()
	defer a.kbaseMu.Unlock()
	if a.kbase == nil {
		a.kbase = map[string]translate.Counts{}
		counts, _ := a.tr.Counters()
		for vpc, m := range counts {
			for addr, c := range m {
				c.Active = 0
				a.kbase[vpc+"/"+addr.String()] = c
			}
		}
	}
	for vpc, m := range enis {
		for addr := range m {
			if _, ok := a.kbase[vpc+"/"+addr.String()]; !ok {
				a.kbase[vpc+"/"+addr.String()] = translate.Counts{}
			}
		}
	}
}

// activeEvery is how often the kernel path's open flows are counted (a dump
// of the consumer namespaces' conntrack tables); its byte and connection
// counters are read at every Traffic call and scrape.
const activeEvery = 10 * time.Second

// refreshKernel re-reads the eligible targets of every exit after a health
// change and rewrites the slots that changed.
func (a *Agent) refreshKernel() {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	if a.closed || a.last == nil {
		return
	}
	want, _ := wantListeners(*a.last)
	p := a.planKernel(*a.last, want)
	var nss []translate.Namespace
	for _, n := range p.nss {
		if _, linked := a.links[n.VPC]; linked {
			nss = append(nss, n)
		}
	}
	if err := a.tr.Apply(nss); err != nil {
		a.log.Warn("kernel path: applying target health", "error", err)
	}
}

// kernelTraffic reads the kernel path's counters and hands each endpoint's
// translated traffic since this process started to the proxy, which adds it
// to the endpoint's relayed traffic. The caller holds a.mu (read).
func (a *Agent) kernelTraffic() {
	read, withActive := a.tr.Counters, false
	a.kbaseMu.Lock()
	if time.Since(a.activeAt) >= activeEvery {
		read, withActive, a.activeAt = a.tr.Active, true, time.Now()
	}
	a.kbaseMu.Unlock()
	counts, err := read()
	if err != nil {
		a.log.Debug("kernel path counters", "error", err)
	}
	per := map[string]dataplane.Stats{}
	svc := map[string]string{}
	a.kbaseMu.Lock()
	defer a.kbaseMu.Unlock()
	for vpc, enis := range a.kernelENIs {
		for addr, ep := range enis {
			c, ok := counts[vpc][addr]
			if !ok {
				continue
			}
			k := vpc + "/" + addr.String()
			base := a.kbase[k]
			if c.Flows < base.Flows || c.BytesIn < base.BytesIn || c.BytesOut < base.BytesOut {
				base = translate.Counts{} // the counters were recreated
				a.kbase[k] = base
			}
			if withActive {
				a.kactive[k] = c.Active
			}
			s := per[ep.id]
			s.NewConnections += c.Flows - base.Flows
			s.BytesIn += c.BytesIn - base.BytesIn
			s.BytesOut += c.BytesOut - base.BytesOut
			s.ActiveConnections += a.kactive[k]
			per[ep.id], svc[ep.id] = s, ep.service
		}
	}
	translated := make(map[string]Translated, len(per))
	for id, s := range per {
		translated[id] = Translated{ServiceID: svc[id], Stats: s}
	}
	if len(translated) > 0 {
		a.relay.SetTranslated(translated)
	}
}
