package agent

import "strait/internal/dataplane"

// Traffic returns the counters of every endpoint in the last applied state,
// relayed and translated (counted since this process started).
func (a *Agent) Traffic() map[string]dataplane.Stats {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.kernelTraffic()
	ids := make([]string, 0, len(a.endpoints))
	for id := range a.endpoints {
		ids = append(ids, id)
	}
	return a.relay.EndpointStats(ids)
}

// collectTraffic brings the kernel path's counters in the proxy up to date
// before a metrics scrape.
func (a *Agent) collectTraffic() {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.kernelTraffic()
}

// forgetCounters drops the proxy's counters of the endpoints and services st no
// longer has, and records those it has. The caller holds a.mu.
func (a *Agent) forgetCounters(st State) {
	endpoints := make(map[string]bool, len(st.Endpoints))
	services := map[string]bool{}
	for _, ep := range st.Endpoints {
		endpoints[ep.ID] = true
		services[ep.ServiceID] = true
	}
	for _, lb := range st.LoadBalancers {
		if lb.ServiceID != "" {
			services[lb.ServiceID] = true
		}
	}
	for id := range a.endpoints {
		if !endpoints[id] {
			a.relay.ForgetEndpoint(id)
		}
	}
	for id := range a.services {
		if !services[id] {
			a.relay.ForgetService(id)
		}
	}
	a.endpoints, a.services = endpoints, services
}

// setOf is the set of ids.
func setOf(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
