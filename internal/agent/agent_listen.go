package agent

import (
	"net/netip"

	"strait/internal/dataplane"
)

// wantListeners returns the data-plane listeners st wants, with the endpoint
// ID or load balancer ARN each belongs to: one on every node of every load
// balancer for each of its listener ports, and one on every ENI of every open
// endpoint for each listener port of its service's load balancers (those
// with nodes on other hosts only too: planKernel takes them out when the
// kernel cannot carry them).
func wantListeners(st State) (want map[listenKey]dataplane.Entry, owner map[listenKey]string) {
	want = map[listenKey]dataplane.Entry{}
	owner = map[listenKey]string{} // listener → endpoint ID or LB ARN
	lbByARN := map[string]LoadBalancer{}
	for _, lb := range st.LoadBalancers {
		lbByARN[lb.ARN] = lb
		for i, n := range lb.Nodes {
			for _, l := range lb.Listeners {
				k := listenKey{lb.VpcID, netip.AddrPortFrom(n.IP, l.Port)}
				want[k] = dataplane.Entry{ServiceID: lb.ServiceID, AZ: lb.ENIs[i].AZ, LoadBalancer: lb.ARN, Port: l.Port}
				owner[k] = lb.ARN
			}
		}
	}
	for _, lb := range st.RemoteLoadBalancers {
		if _, local := lbByARN[lb.ARN]; !local {
			lbByARN[lb.ARN] = lb // only the kernel path reaches it (planKernel)
		}
	}
	for _, ep := range st.Endpoints {
		if !ep.Open {
			continue
		}
		for _, e := range ep.ENIs {
			for _, arn := range ep.LoadBalancers {
				for _, l := range lbByARN[arn].Listeners {
					k := listenKey{ep.VpcID, netip.AddrPortFrom(e.IP, l.Port)}
					if _, taken := want[k]; taken {
						continue // two load balancers of one service on one port: the first wins
					}
					want[k] = dataplane.Entry{EndpointID: ep.ID, ServiceID: ep.ServiceID, AZ: e.AZ, LoadBalancer: arn, Port: l.Port}
					owner[k] = ep.ID
				}
			}
		}
	}
	return want, owner
}

// applyListeners makes the relay's listeners (Relay.Listening: also those a
// previous agent, or a relay process that replaced a dead one, left) those of
// want (see wantListeners, less what the kernel path carries). Listeners
// whose entry is unchanged stay open; new ones are opened with one call per
// VPC. failed holds
// the endpoints and load balancers (IDs, ARNs) some listener of which could
// not be opened.
func (a *Agent) applyListeners(want map[listenKey]dataplane.Entry, owner map[listenKey]string, addrOK map[string]bool) (failed map[string]bool, errs []error) {
	failed = map[string]bool{}
	open := map[listenKey]bool{}
	for _, l := range a.relay.Listening() {
		k := listenKey{l.VPC, l.Addr}
		if w, ok := want[k]; !ok || w != l.Entry {
			a.relay.Unlisten(k.vpc, k.addr)
			continue
		}
		open[k] = true
	}
	missing := map[string][]listenKey{} // VPC → listeners to open
	for k := range want {
		if open[k] {
			continue
		}
		if !addrOK[k.vpc] {
			failed[owner[k]] = true
			continue
		}
		missing[k.vpc] = append(missing[k.vpc], k)
	}
	for vpc, keys := range missing {
		addrs := make([]netip.AddrPort, len(keys))
		entries := make([]dataplane.Entry, len(keys))
		for i, k := range keys {
			addrs[i], entries[i] = k.addr, want[k]
		}
		lerrs, err := a.relay.Listen(vpc, addrs, entries)
		if err != nil {
			errs = append(errs, err)
			for _, k := range keys {
				failed[owner[k]] = true
			}
			continue
		}
		for i, k := range keys {
			if lerrs[i] != nil {
				errs = append(errs, lerrs[i])
				failed[owner[k]] = true
			}
		}
	}
	return failed, errs
}
