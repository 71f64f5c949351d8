package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"sync"

	"strait/internal/dataplane"
	"strait/internal/dns"
)

// Agent applies desired states to the host and remembers what it realized, which
// the reconciler reads back (it implements control.Realized).
type Agent struct {
	host  *Host
	proxy *dataplane.Proxy
	log   *slog.Logger

	applyMu   sync.Mutex // one Apply at a time
	vpcs      map[string]VPC
	instances map[string]Instance
	addrs     map[string][]ENI                   // VPC → ENI addresses applied
	vpcFW     map[string]map[netip.Addr]Firewall // VPC → firewall applied
	instFW    map[string]Firewall                // instance → firewall applied
	listeners map[listenKey]*listener            // open data-plane listeners
	resolvers map[string]*resolver               // VPC → its DNS resolver

	mu        sync.RWMutex // guards ready, known, endpoints and services
	ready     map[string]bool
	known     map[string]bool // everything that has something on the host
	endpoints map[string]bool // endpoints whose traffic the proxy counts
	services  map[string]bool // endpoint services whose traffic the proxy counts
}

// listenKey identifies a data-plane listener: an address and port in a VPC.
type listenKey struct {
	vpc  string
	addr netip.AddrPort
}

type listener struct {
	ln    *net.TCPListener
	entry dataplane.Entry
}

type resolver struct {
	srv *dns.Server
	udp *net.UDPConn
	tcp *net.TCPListener
}

// New returns an agent that realizes states on host with proxy carrying the
// traffic. It adopts the namespaces a previous run left: the first Apply keeps
// those still wanted and removes the rest.
func New(host *Host, proxy *dataplane.Proxy, log *slog.Logger) (*Agent, error) {
	a := &Agent{
		host: host, proxy: proxy, log: log,
		vpcs: map[string]VPC{}, instances: map[string]Instance{}, addrs: map[string][]ENI{},
		vpcFW: map[string]map[netip.Addr]Firewall{}, instFW: map[string]Firewall{},
		listeners: map[listenKey]*listener{}, resolvers: map[string]*resolver{},
		ready: map[string]bool{}, known: map[string]bool{},
	}
	vpcs, insts, err := host.Managed()
	if err != nil {
		return nil, err
	}
	// Adopted namespaces are known but not yet applied: Apply re-checks them.
	for _, id := range vpcs {
		a.vpcs[id] = VPC{ID: id}
		a.known[id] = true
	}
	for _, id := range insts {
		a.instances[id] = Instance{ID: id}
		a.known[id] = true
	}
	return a, nil
}

// Ready implements control.Realized.
func (a *Agent) Ready(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.ready[id]
}

// Removed implements control.Realized.
func (a *Agent) Removed(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return !a.known[id]
}

// Apply makes the host match st: it creates and wires what is missing, changes what
// differs, removes what st no longer has, and records what is ready. It goes on
// past a failing object (reported in the returned error) so one broken resource
// does not hold the others back; the next Apply retries it.
func (a *Agent) Apply(ctx context.Context, st State) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	var errs []error
	ready := map[string]bool{}
	known := map[string]bool{}

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
		if err := a.applyInstance(in, vpcs[in.VpcID]); err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.ID, err))
			continue
		}
		ready[in.ID] = true
	}

	// Addresses and firewalls of the ENIs in each VPC.
	enis := map[string][]ENI{}
	fws := map[string]map[netip.Addr]Firewall{}
	addFW := func(vpc string, ip netip.Addr, fw Firewall) {
		if fws[vpc] == nil {
			fws[vpc] = map[netip.Addr]Firewall{}
		}
		fws[vpc][ip] = fw
	}
	enforced := map[string][]Rule{} // LB ARN → ingress rules PrivateLink traffic must pass
	for _, lb := range st.LoadBalancers {
		if lb.Firewall != nil && lb.EnforceOnPrivateLink {
			enforced[lb.ARN] = append([]Rule{}, lb.Firewall.Ingress...)
		}
	}
	for _, ep := range st.Endpoints {
		known[ep.ID] = true
		enis[ep.VpcID] = append(enis[ep.VpcID], ep.ENIs...)
		fw := ep.Firewall
		for _, arn := range ep.LoadBalancers {
			if rules, ok := enforced[arn]; ok {
				fw.AlsoIngress = append(append([]Rule{}, fw.AlsoIngress...), rules...)
			}
		}
		for _, e := range ep.ENIs {
			addFW(ep.VpcID, e.IP, fw)
		}
	}
	for _, lb := range st.LoadBalancers {
		known[lb.ARN] = true
		enis[lb.VpcID] = append(enis[lb.VpcID], lb.ENIs...)
		if lb.Firewall != nil {
			for _, e := range lb.ENIs {
				addFW(lb.VpcID, e.IP, *lb.Firewall)
			}
		}
	}
	addrOK := map[string]bool{}
	for id, v := range vpcs {
		if !ready[id] {
			continue
		}
		if err := a.applyAddresses(v, enis[id], fws[id]); err != nil {
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
	a.proxy.Configure(cfg)

	want := map[listenKey]dataplane.Entry{}
	owner := map[listenKey]string{} // listener → endpoint ID or LB ARN
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
	failed := map[string]bool{}
	for k, l := range a.listeners {
		if e, ok := want[k]; !ok || e != l.entry {
			l.ln.Close()
			delete(a.listeners, k)
		}
	}
	for k, e := range want {
		if _, ok := a.listeners[k]; ok {
			continue
		}
		if !addrOK[k.vpc] {
			failed[owner[k]] = true
			continue
		}
		ln, err := a.host.Listen(k.vpc, k.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("listening on %s in %s: %w", k.addr, k.vpc, err))
			failed[owner[k]] = true
			continue
		}
		a.listeners[k] = &listener{ln: ln, entry: e}
		go func() {
			if err := a.proxy.Serve(ln, e); err != nil {
				a.log.Warn("data-plane listener stopped", "addr", k.addr, "vpc", k.vpc, "err", err)
			}
		}()
	}
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

	for id, v := range vpcs {
		if ready[id] {
			if err := a.applyResolver(v); err != nil {
				errs = append(errs, fmt.Errorf("vpc %s resolver: %w", id, err))
			}
		}
	}

	// Removals: instances before their VPCs.
	for id := range a.instances {
		if !known[id] {
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
			a.closeResolver(id)
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

	a.mu.Lock()
	a.ready, a.known = ready, known
	a.forgetCounters(st)
	a.mu.Unlock()
	return errors.Join(errs...)
}

// applyVPC creates or rewires a VPC namespace when its specification changed.
func (a *Agent) applyVPC(v VPC) error {
	spec := v
	spec.DNS = nil // names change often; the resolver takes them without rewiring
	if old, ok := a.vpcs[v.ID]; ok && reflect.DeepEqual(old, spec) {
		return nil
	}
	if err := a.host.EnsureVPC(v); err != nil {
		return err
	}
	a.vpcs[v.ID] = spec
	return nil
}

func (a *Agent) applyInstance(in Instance, v VPC) error {
	if old, ok := a.instances[in.ID]; !ok || old.IP != in.IP || old.SubnetID != in.SubnetID || old.VpcID != in.VpcID {
		if err := a.host.EnsureInstance(in, v); err != nil {
			return err
		}
		a.instances[in.ID] = in
		delete(a.instFW, in.ID)
	}
	if fw, ok := a.instFW[in.ID]; ok && reflect.DeepEqual(fw, in.Firewall) {
		return nil
	}
	if err := a.host.ApplyInstanceFirewall(in.ID, in.Firewall); err != nil {
		return err
	}
	a.instFW[in.ID] = in.Firewall
	a.instances[in.ID] = in
	return nil
}

func (a *Agent) applyAddresses(v VPC, enis []ENI, fw map[netip.Addr]Firewall) error {
	if old, ok := a.addrs[v.ID]; !ok || !reflect.DeepEqual(old, enis) {
		if err := a.host.SetAddresses(v.ID, enis, v); err != nil {
			return err
		}
		a.addrs[v.ID] = enis
	}
	if old, ok := a.vpcFW[v.ID]; ok && reflect.DeepEqual(old, fw) {
		return nil
	}
	if err := a.host.ApplyVPCFirewall(v.ID, fw); err != nil {
		return err
	}
	a.vpcFW[v.ID] = fw
	return nil
}

// applyResolver starts the VPC's resolver at base + 2 if needed and gives it the
// VPC's names.
func (a *Agent) applyResolver(v VPC) error {
	r, ok := a.resolvers[v.ID]
	if !ok {
		addr := netip.AddrPortFrom(v.CIDR.Masked().Addr().Next().Next(), 53)
		udp, err := a.host.ListenUDP(v.ID, addr)
		if err != nil {
			return err
		}
		tcp, err := a.host.Listen(v.ID, addr)
		if err != nil {
			udp.Close()
			return err
		}
		r = &resolver{srv: dns.New(a.log), udp: udp, tcp: tcp}
		a.resolvers[v.ID] = r
		go func() {
			if err := r.srv.Serve(udp, tcp); err != nil {
				a.log.Warn("resolver stopped", "vpc", v.ID, "err", err)
			}
		}()
	}
	r.srv.SetRecords(v.DNS)
	return nil
}

func (a *Agent) closeResolver(vpc string) {
	if r, ok := a.resolvers[vpc]; ok {
		r.srv.Close()
		r.udp.Close()
		r.tcp.Close()
		delete(a.resolvers, vpc)
	}
	for k, l := range a.listeners {
		if k.vpc == vpc {
			l.ln.Close()
			delete(a.listeners, k)
		}
	}
}

// Close stops every listener and resolver. The namespaces, addresses and rules stay
// for the next run to adopt (`strait down` removes them).
func (a *Agent) Close() {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	for k, l := range a.listeners {
		l.ln.Close()
		delete(a.listeners, k)
	}
	for id := range a.resolvers {
		a.closeResolver(id)
	}
	a.proxy.Close()
}
