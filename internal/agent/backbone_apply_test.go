package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/dataplane"
	"strait/internal/relay"
)

// fakeBackbone records what the agent gives it; SetVPC fails while fail is set.
type fakeBackbone struct {
	mu      sync.Mutex
	calls   int // every call but Close
	peers   []backbone.Peer
	vpcs    map[string]map[netip.Prefix]string
	ns      map[string]string
	fail    error
	closed  bool
	removed []string // "VPC namespace" of each RemoveVPC
	// what SetTransit took last
	transitNS     string
	transitSource netip.Addr
	transitRoutes map[netip.Addr]string
}

func (b *fakeBackbone) SetPeers(p []backbone.Peer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.peers = p
	return nil
}

func (b *fakeBackbone) SetVPC(id string, _ uint32, namespace string, remote map[netip.Prefix]string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.fail != nil {
		return b.fail
	}
	b.vpcs[id], b.ns[id] = maps.Clone(remote), namespace
	return nil
}

func (b *fakeBackbone) RemoveVPC(id, namespace string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	delete(b.vpcs, id)
	b.removed = append(b.removed, id+" "+namespace)
	return nil
}

func (b *fakeBackbone) SetTransit(namespace string, source netip.Addr, routes map[netip.Addr]string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.transitNS, b.transitSource, b.transitRoutes = namespace, source, maps.Clone(routes)
	return nil
}

func (b *fakeBackbone) RemoveTransit(namespace string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.removed = append(b.removed, "transit "+namespace)
	return nil
}

func (b *fakeBackbone) Close() error { b.closed = true; return nil }

// Apply gives the backbone the peers and the VPC's remote subnets of peers
// (a subnet of a host that is no peer, such as the server's "local", is left
// out without failing the VPC); a failing SetVPC leaves the VPC not ready until
// an Apply succeeds; the transit namespace joins with the peers' transit
// addresses and nodes routed; a VPC without remote subnets leaves the
// backbone, and the transit namespace without peers; Close closes it. The same state again changes nothing on the backbone.
func TestApplyJoinsVPCsToTheBackbone(t *testing.T) {
	h := netnstest.NewHost(t)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	bb := &fakeBackbone{vpcs: map[string]map[netip.Prefix]string{}, ns: map[string]string{}}
	a, err := agent.New(h, &firewall.Fake{}, relay.NewLocal(dataplane.New(dataplane.Options{Dial: h.StartDial, Logger: log}), h, log), log, agent.WithBackbone(bb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
	local := v
	local.Subnets = v.Subnets[:1]
	local.TransitIP = netip.MustParseAddr("169.254.1.9")
	peer := backbone.Peer{HostID: "host-2", Underlay: netip.MustParseAddr("192.0.2.2"), Transit: netip.MustParseAddr("169.254.0.4")}
	st := agent.State{
		VPCs:        []agent.VPC{{VPC: local, Remote: []agent.RemoteSubnet{{Subnet: v.Subnets[1], Host: "host-2"}, {Subnet: v.Subnets[2], Host: "local"}}}},
		Peers:       []backbone.Peer{peer},
		HostTransit: netip.MustParseAddr("169.254.0.3"),
		RemoteNodes: map[netip.Addr]string{netip.MustParseAddr("169.254.9.9"): "host-2", netip.MustParseAddr("169.254.9.8"): "host-3"},
	}
	ctx := context.Background()

	bb.fail = errors.New("no TUN device")
	if err := a.Apply(ctx, st); err == nil || a.Ready(v.ID) {
		t.Fatalf("failing backbone: Apply %v, VPC ready %v; want an error and not ready", err, a.Ready(v.ID))
	}
	bb.fail = nil
	if err := a.Apply(ctx, st); err != nil || !a.Ready(v.ID) {
		t.Fatalf("backbone back: Apply %v, VPC ready %v", err, a.Ready(v.ID))
	}
	want := map[netip.Prefix]string{v.Subnets[1].CIDR: "host-2"}
	if !maps.Equal(bb.vpcs[v.ID], want) || bb.ns[v.ID] != h.Namespace(v.ID) || len(bb.peers) != 1 || bb.peers[0].HostID != "host-2" {
		t.Fatalf("backbone got VPC %v in %s, peers %+v; want %v in %s and host-2", bb.vpcs[v.ID], bb.ns[v.ID], bb.peers, want, h.Namespace(v.ID))
	}
	// The transit namespace joins too: the peer's host address and its
	// nodes routed (not host-3's, no peer), flows leaving from this host's.
	wantRoutes := map[netip.Addr]string{peer.Transit: "host-2", netip.MustParseAddr("169.254.9.9"): "host-2"}
	if bb.transitNS != h.TransitNamespace() || bb.transitSource != st.HostTransit || !maps.Equal(bb.transitRoutes, wantRoutes) {
		t.Fatalf("backbone transit: %q from %s routes %v; want %q from %s routes %v", bb.transitNS, bb.transitSource, bb.transitRoutes, h.TransitNamespace(), st.HostTransit, wantRoutes)
	}
	calls := bb.calls
	if err := a.Apply(ctx, st); err != nil || bb.calls != calls {
		t.Fatalf("the same state again: Apply %v, %d more backbone calls; want none", err, bb.calls-calls)
	}

	alone := agent.State{VPCs: []agent.VPC{{VPC: local}}}
	if err := a.Apply(ctx, alone); err != nil || !a.Ready(v.ID) {
		t.Fatalf("without remote subnets: Apply %v, ready %v", err, a.Ready(v.ID))
	}
	if _, ok := bb.vpcs[v.ID]; ok || bb.peers != nil || bb.transitNS != "" {
		t.Fatalf("without remote subnets the VPC stays on the backbone (%v), peers remain (%+v) or the transit link (%q)", bb.vpcs, bb.peers, bb.transitNS)
	}
	a.Close()
	if !bb.closed {
		t.Error("Close left the backbone open")
	}
}

// A restarted agent clears, once, the backbone devices an earlier run may
// have left in a VPC namespace that has no remote subnets now and in the
// transit namespace when it has no peers.
func TestRestartedAgentClearsALeftBackboneDevice(t *testing.T) {
	h := netnstest.NewHost(t)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	bb := &fakeBackbone{vpcs: map[string]map[netip.Prefix]string{}, ns: map[string]string{}}
	a, err := agent.New(h, &firewall.Fake{}, relay.NewLocal(dataplane.New(dataplane.Options{Dial: h.StartDial, Logger: log}), h, log), log, agent.WithBackbone(bb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	st := agent.State{VPCs: []agent.VPC{{VPC: v}}}
	ctx := context.Background()
	for range 2 {
		if err := a.Apply(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{v.ID + " " + h.Namespace(v.ID), "transit " + h.TransitNamespace()}; !slices.Equal(bb.removed, want) {
		t.Fatalf("RemoveVPC calls %q, want %q (once)", bb.removed, want)
	}
}
