package agent

import (
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
)

// planFixture is a provider VPC with an NLB (nodes in zones a and b, listeners
// 3306 and 5432 to two groups) and a consumer endpoint with an ENI in each zone.
func planFixture() State {
	lb := LoadBalancer{
		LoadBalancer: dataplane.LoadBalancer{ARN: "lb", VpcID: "vpc-p", ServiceID: "svc",
			Nodes:     []dataplane.Node{{AZ: "a", IP: netip.MustParseAddr("10.0.1.50")}, {AZ: "b", IP: netip.MustParseAddr("10.0.2.50")}},
			Listeners: []dataplane.Listener{{Port: 3306, TargetGroup: "tg-db"}, {Port: 5432, TargetGroup: "tg-pg"}}},
		ENIs:    []netns.ENI{{AZ: "a", IP: netip.MustParseAddr("10.0.1.50")}, {AZ: "b", IP: netip.MustParseAddr("10.0.2.50")}},
		Transit: []netip.Addr{netip.MustParseAddr("169.254.9.1"), netip.MustParseAddr("169.254.9.2")},
	}
	target := func(ip, az string) dataplane.Target {
		return dataplane.Target{ID: ip, Addr: netip.MustParseAddrPort(ip), AZ: az}
	}
	return State{
		VPCs: []VPC{{VPC: netns.VPC{ID: "vpc-p", TransitIP: netip.MustParseAddr("169.254.1.1")}},
			{VPC: netns.VPC{ID: "vpc-c", TransitIP: netip.MustParseAddr("169.254.1.2")}}},
		LoadBalancers: []LoadBalancer{lb},
		TargetGroups: []dataplane.TargetGroup{
			{ARN: "tg-db", VpcID: "vpc-p", Targets: []dataplane.Target{target("10.0.1.10:3306", "a"), target("10.0.2.10:3306", "b")}},
			{ARN: "tg-pg", VpcID: "vpc-p", Targets: []dataplane.Target{target("10.0.1.11:5432", "a")}, ProxyProtocolV2: true},
		},
		Endpoints: []Endpoint{{ID: "vpce-1", VpcID: "vpc-c", ServiceID: "svc", LoadBalancers: []string{"lb"}, Open: true,
			ENIs: []netns.ENI{{AZ: "a", IP: netip.MustParseAddr("10.0.1.100")}, {AZ: "b", IP: netip.MustParseAddr("10.0.2.100")}}}},
	}
}

// routingOnly is a Relay of a proxy's routing, without listeners: what
// planKernel asks of it.
type routingOnly struct{ *dataplane.Proxy }

func (routingOnly) Listen(string, []netip.AddrPort, []dataplane.Entry) ([]error, error) {
	panic("planKernel opens no listener")
}
func (routingOnly) Unlisten(string, netip.AddrPort) {}
func (routingOnly) ForgetVPC(string)                {}
func (routingOnly) Generation() string              { return "" }
func (routingOnly) EndpointStats([]string) map[string]dataplane.Stats {
	panic("planKernel reads no counters")
}
func (routingOnly) SetTranslated(map[string]Translated) { panic("planKernel counts nothing") }
func (routingOnly) SetResolver(string, netip.AddrPort, map[string][]netip.Addr) error {
	panic("planKernel starts no resolver")
}
func (routingOnly) Listening() []Listening { return nil }

func plan(t *testing.T, st State, f Forwarding) (kernelPlan, map[listenKey]dataplane.Entry) {
	t.Helper()
	proxy := dataplane.New(dataplane.Options{Dial: func(string, netip.Addr, netip.AddrPort) (int, bool, error) { return -1, false, nil }})
	t.Cleanup(proxy.Close)
	cfg := dataplane.Config{TargetGroups: st.TargetGroups}
	for _, lb := range st.LoadBalancers {
		cfg.LoadBalancers = append(cfg.LoadBalancers, lb.LoadBalancer)
	}
	proxy.Configure(cfg)
	a := &Agent{relay: routingOnly{proxy}, forwarding: f, log: slog.New(slog.DiscardHandler)}
	want, _ := wantListeners(st)
	return a.planKernel(st, want), want
}

func TestPlanKernel(t *testing.T) {
	p, want := plan(t, planFixture(), ForwardKernel)
	// 3306 (no PROXY v2) is translated on both ENIs, each to its zone's node;
	// 5432 (PROXY v2) stays on the relay, as do the nodes' own listeners.
	if len(p.nss) != 2 {
		t.Fatalf("namespaces %+v", p.nss)
	}
	cons, prov := p.nss[0], p.nss[1]
	if cons.VPC != "vpc-c" || prov.VPC != "vpc-p" {
		cons, prov = prov, cons
	}
	wantEntries := map[string]string{"10.0.1.100:3306": "169.254.9.1:3306", "10.0.2.100:3306": "169.254.9.2:3306"}
	if len(cons.Entries) != 2 {
		t.Fatalf("entries %+v", cons.Entries)
	}
	for _, e := range cons.Entries {
		if wantEntries[e.ENI.String()] != e.Node.String() || e.Idle != dataplane.DefaultIdleTimeout {
			t.Errorf("entry %+v", e)
		}
	}
	if len(cons.Counted) != 2 {
		t.Errorf("counted %v", cons.Counted)
	}
	for _, k := range []string{"10.0.1.100:3306", "10.0.2.100:3306"} {
		if _, relayed := want[listenKey{"vpc-c", netip.MustParseAddrPort(k)}]; relayed {
			t.Errorf("%s is still a relay listener", k)
		}
	}
	for _, k := range []string{"10.0.1.100:5432", "10.0.2.100:5432"} {
		if _, relayed := want[listenKey{"vpc-c", netip.MustParseAddrPort(k)}]; !relayed {
			t.Errorf("%s (PROXY v2) is not a relay listener", k)
		}
	}
	if _, relayed := want[listenKey{"vpc-p", netip.MustParseAddrPort("10.0.1.50:3306")}]; !relayed {
		t.Error("the node's own listener is not a relay listener")
	}
	// Exits: one per node for 3306, each with its zone's target (no cross-zone),
	// failing open (health unknown yet: every candidate).
	if len(prov.Exits) != 2 {
		t.Fatalf("exits %+v", prov.Exits)
	}
	for _, x := range prov.Exits {
		if len(x.Targets) != 1 || len(x.Registered) != 2 {
			t.Errorf("exit %+v", x)
		}
		if x.Node.Addr().String() == "169.254.9.1" && (x.Source.String() != "10.0.1.50" || x.Targets[0].String() != "10.0.1.10:3306") {
			t.Errorf("zone a exit %+v", x)
		}
	}
	if p.routes[netip.MustParseAddr("169.254.9.2")] != netip.MustParseAddr("169.254.1.1") {
		t.Errorf("routes %v", p.routes)
	}
}

func TestPlanKernelRelayCases(t *testing.T) {
	for name, change := range map[string]func(*State) Forwarding{
		"forwarding relay":     func(*State) Forwarding { return ForwardRelay },
		"relay attribute":      func(st *State) Forwarding { st.TargetGroups[0].Relay = true; return ForwardKernel },
		"no VPC transit":       func(st *State) Forwarding { st.VPCs[1].TransitIP = netip.Addr{}; return ForwardKernel },
		"no node transit":      func(st *State) Forwarding { st.LoadBalancers[0].Transit[1] = netip.Addr{}; return ForwardKernel },
		"endpoint not open":    func(st *State) Forwarding { st.Endpoints[0].Open = false; return ForwardKernel },
		"PROXY v2 on 3306 too": func(st *State) Forwarding { st.TargetGroups[0].ProxyProtocolV2 = true; return ForwardKernel },
		"endpoint in the service's VPC": func(st *State) Forwarding {
			st.Endpoints[0].VpcID = "vpc-p"
			return ForwardKernel
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := planFixture()
			f := change(&st)
			p, _ := plan(t, st, f)
			for _, n := range p.nss {
				if len(n.Entries) > 0 {
					t.Errorf("entries translated: %+v", n.Entries)
				}
			}
		})
	}
}

// remoteFixture is planFixture as a host sees it whose endpoint ENIs are in
// zones a and b while the load balancer's nodes are all on other hosts
// (placement.Split's RemoteLoadBalancers: no targets, no local node).
func remoteFixture() State {
	st := planFixture()
	st.RemoteLoadBalancers, st.LoadBalancers = st.LoadBalancers, nil
	st.RemoteTargetGroups, st.TargetGroups = st.TargetGroups, nil
	for i := range st.RemoteTargetGroups {
		st.RemoteTargetGroups[i].Targets = nil
	}
	st.VPCs = st.VPCs[1:] // the provider VPC is not on this host
	st.HostTransit = netip.MustParseAddr("169.254.0.3")
	// The nodes are on host-b, a backbone peer.
	st.Peers = []backbone.Peer{{HostID: "host-b"}}
	st.RemoteNodes = map[netip.Addr]string{netip.MustParseAddr("169.254.9.1"): "host-b", netip.MustParseAddr("169.254.9.2"): "host-b"}
	return st
}

// Entries to a load balancer with nodes on other hosts only go to the node
// of the ENI's zone, else to the first node with a transit address: in the
// kernel when the listener's target group wants no relay, by the relay to
// the node's transit address (dataplane.Entry.Remote) when it does or
// forwarding is relay; not at all when no node is reachable.
func TestPlanKernelRemoteNodes(t *testing.T) {
	same := map[string]string{"10.0.1.100:5432": "169.254.9.1:5432", "10.0.2.100:5432": "169.254.9.2:5432"}
	for name, tc := range map[string]struct {
		change           func(*State)
		f                Forwarding
		entries, relayed map[string]string // ENI:port → node transit address:port
	}{
		"same zone": {func(*State) {}, ForwardKernel, map[string]string{"10.0.1.100:3306": "169.254.9.1:3306", "10.0.2.100:3306": "169.254.9.2:3306"}, same},
		"zone a has no node": {func(st *State) {
			lb := &st.RemoteLoadBalancers[0]
			lb.Nodes, lb.ENIs, lb.Transit = lb.Nodes[1:], lb.ENIs[1:], lb.Transit[1:]
		}, ForwardKernel, map[string]string{"10.0.1.100:3306": "169.254.9.2:3306", "10.0.2.100:3306": "169.254.9.2:3306"},
			map[string]string{"10.0.1.100:5432": "169.254.9.2:5432", "10.0.2.100:5432": "169.254.9.2:5432"}},
		"zone b's node has no transit address": {func(st *State) {
			st.RemoteLoadBalancers[0].Transit[1] = netip.Addr{}
		}, ForwardKernel, map[string]string{"10.0.1.100:3306": "169.254.9.1:3306", "10.0.2.100:3306": "169.254.9.1:3306"},
			map[string]string{"10.0.1.100:5432": "169.254.9.1:5432", "10.0.2.100:5432": "169.254.9.1:5432"}},
		"no host transit address": {func(st *State) { st.HostTransit = netip.Addr{} }, ForwardKernel, nil, nil},
		"no VPC transit address":  {func(st *State) { st.VPCs[0].TransitIP = netip.Addr{} }, ForwardKernel, nil, nil},
		// No route leads to a host that is not a peer (another backbone
		// method, no key, a shared address): nothing is planned there.
		"nodes on a host that is no peer": {func(st *State) { st.Peers = []backbone.Peer{{HostID: "host-c"}} }, ForwardKernel, nil, nil},
		"zone a's node on a host that is no peer": {func(st *State) {
			st.RemoteNodes[netip.MustParseAddr("169.254.9.1")] = "host-c"
		}, ForwardKernel, map[string]string{"10.0.1.100:3306": "169.254.9.2:3306", "10.0.2.100:3306": "169.254.9.2:3306"},
			map[string]string{"10.0.1.100:5432": "169.254.9.2:5432", "10.0.2.100:5432": "169.254.9.2:5432"}},
		"relay attribute": {func(st *State) { st.RemoteTargetGroups[0].Relay = true }, ForwardKernel, nil,
			map[string]string{"10.0.1.100:3306": "169.254.9.1:3306", "10.0.2.100:3306": "169.254.9.2:3306", "10.0.1.100:5432": "169.254.9.1:5432", "10.0.2.100:5432": "169.254.9.2:5432"}},
		"forwarding relay": {func(*State) {}, ForwardRelay, nil,
			map[string]string{"10.0.1.100:3306": "169.254.9.1:3306", "10.0.2.100:3306": "169.254.9.2:3306", "10.0.1.100:5432": "169.254.9.1:5432", "10.0.2.100:5432": "169.254.9.2:5432"}},
		// In the service's own VPC: the relay carries 5432; 3306, which the
		// node's host translates, is not carried.
		"endpoint in the service's VPC": {func(st *State) { st.RemoteLoadBalancers[0].VpcID = "vpc-c" }, ForwardKernel, nil, same},
	} {
		t.Run(name, func(t *testing.T) {
			st := remoteFixture()
			tc.change(&st)
			p, want := plan(t, st, tc.f)
			got := map[string]string{}
			for _, n := range p.nss {
				if len(n.Exits) > 0 {
					t.Errorf("exits on a host without nodes: %+v", n.Exits)
				}
				for _, e := range n.Entries {
					if n.VPC != "vpc-c" {
						t.Errorf("entry in %s", n.VPC)
					}
					got[e.ENI.String()] = e.Node.String()
				}
			}
			if len(got) != len(tc.entries) {
				t.Errorf("entries %v, want %v", got, tc.entries)
			}
			for eni, node := range tc.entries {
				if got[eni] != node {
					t.Errorf("entry %s → %s, want %s", eni, got[eni], node)
				}
			}
			relayed := map[string]string{}
			for k, e := range want {
				if k.vpc != "vpc-c" || e.Remote.VPC != "vpc-c" || e.Remote.Idle != dataplane.DefaultIdleTimeout || e.EndpointID != "vpce-1" || e.Transit {
					t.Errorf("relay listener %v: %+v, want one to a node on another host from vpc-c", k, e)
				}
				relayed[k.addr.String()] = e.Remote.Node.String()
			}
			if len(relayed) != len(tc.relayed) {
				t.Errorf("relayed %v, want %v", relayed, tc.relayed)
			}
			for eni, node := range tc.relayed {
				if relayed[eni] != node {
					t.Errorf("relayed %s → %s, want %s", eni, relayed[eni], node)
				}
			}
			if n := 2 + 2 - len(tc.entries) - len(tc.relayed); len(p.dropped) != n {
				t.Errorf("dropped %v, want %d", p.dropped, n)
			}
			if len(tc.entries)+len(tc.relayed) > 0 && len(p.remote["vpce-1"]) == 0 {
				t.Errorf("the endpoint's remote nodes are not recorded: %v", p.remote)
			}
			// The ENIs with entries are counted by the kernel, as the
			// endpoint's (relayed ones by the relay).
			if len(p.enis["vpc-c"]) != len(tc.entries) {
				t.Errorf("counted ENIs %v, want the %d with entries", p.enis, len(tc.entries))
			}
			for _, ref := range p.enis["vpc-c"] {
				if ref.id != "vpce-1" || ref.service != "svc" {
					t.Errorf("counted as %+v", ref)
				}
			}
			if len(p.transit) != 0 {
				t.Errorf("transit listeners %v on a host without nodes", p.transit)
			}
		})
	}
}

// A host of a backbone with load balancer nodes listens on their transit
// addresses for the ports the kernel does not translate, for other hosts'
// relays; a host alone does not.
func TestPlanTransitListeners(t *testing.T) {
	for name, tc := range map[string]struct {
		f     Forwarding
		alone bool
		ports []uint16
	}{
		"kernel":     {ForwardKernel, false, []uint16{5432}},
		"relay":      {ForwardRelay, false, []uint16{3306, 5432}},
		"host alone": {ForwardKernel, true, nil},
	} {
		t.Run(name, func(t *testing.T) {
			st := planFixture()
			if !tc.alone {
				st.HostTransit = netip.MustParseAddr("169.254.0.3")
			}
			p, want := plan(t, st, tc.f)
			got := 0
			for k, e := range want {
				if !e.Transit {
					continue
				}
				got++
				i := slices.Index(st.LoadBalancers[0].Transit, k.addr.Addr())
				if k.vpc != "vpc-p" || i < 0 || !slices.Contains(tc.ports, k.addr.Port()) || p.transit[k] != "lb" ||
					e != (dataplane.Entry{ServiceID: "svc", AZ: st.LoadBalancers[0].Nodes[i].AZ, LoadBalancer: "lb", Port: k.addr.Port(), Transit: true}) {
					t.Errorf("transit listener %v: %+v", k, e)
				}
			}
			if got != 2*len(tc.ports) || len(p.transit) != got {
				t.Errorf("%d transit listeners (%v), want %d", got, p.transit, 2*len(tc.ports))
			}
			if wantAt := st.LoadBalancers[0].Transit; len(tc.ports) > 0 && !slices.Equal(p.listenAt["vpc-p"], wantAt) {
				t.Errorf("listen at %v, want %v", p.listenAt, wantAt)
			}
		})
	}
}

// A host that has a node of the load balancer uses it (same zone, else any
// local node) before one on another host.
func TestPlanKernelLocalNodeFirst(t *testing.T) {
	st := planFixture()
	lb := st.LoadBalancers[0]
	local, remote := lb, lb
	local.Nodes, local.ENIs, local.Transit = lb.Nodes[:1], lb.ENIs[:1], lb.Transit[:1]
	remote.Nodes, remote.ENIs, remote.Transit = lb.Nodes[1:], lb.ENIs[1:], lb.Transit[1:]
	st.LoadBalancers, st.RemoteLoadBalancers = []LoadBalancer{local}, []LoadBalancer{remote}
	st.HostTransit = netip.MustParseAddr("169.254.0.3")
	p, _ := plan(t, st, ForwardKernel)
	entries := 0
	for _, n := range p.nss {
		for _, e := range n.Entries {
			entries++
			if e.Node.String() != "169.254.9.1:3306" {
				t.Errorf("entry %s → %s, want the local node 169.254.9.1:3306", e.ENI, e.Node)
			}
		}
	}
	if entries != 2 {
		t.Errorf("%d entries, want 2", entries)
	}
	if len(p.remote) != 0 || len(p.dropped) != 0 {
		t.Errorf("remote %v, dropped %v: want none", p.remote, p.dropped)
	}
}
