package fleet_test

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"

	"strait/internal/agent"
	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
	"strait/internal/fleet"
	"strait/internal/model"
	"strait/internal/placement"
)

// fakeLocal records the states applied and is ready for what the last one has.
type fakeLocal struct {
	mu      sync.Mutex
	applied []agent.State
	traffic map[string]dataplane.Stats
}

func (l *fakeLocal) Apply(_ context.Context, st agent.State) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applied = append(l.applied, st)
	return nil
}

func (l *fakeLocal) last() agent.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied[len(l.applied)-1]
}

func (l *fakeLocal) Ready(id string) bool {
	return len(l.applied) > 0 && slices.Contains(placement.IDs(l.last()), id)
}
func (l *fakeLocal) Removed(id string) bool { return !l.Ready(id) }
func (l *fakeLocal) Traffic() map[string]dataplane.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.traffic
}

// region is a VPC with a subnet and an instance in each of us-east-1a and b.
func region() agent.State {
	p := netip.MustParsePrefix
	a := netns.Subnet{ID: "subnet-a", CIDR: p("10.0.1.0/24"), AZ: "us-east-1a"}
	b := netns.Subnet{ID: "subnet-b", CIDR: p("10.0.2.0/24"), AZ: "us-east-1b"}
	return agent.State{
		VPCs: []agent.VPC{{VPC: netns.VPC{ID: "vpc-1", CIDR: p("10.0.0.0/16"), Subnets: []netns.Subnet{a, b}}}},
		Instances: []agent.Instance{
			{Instance: netns.Instance{ID: "i-a", VpcID: "vpc-1", SubnetID: "subnet-a", IP: netip.MustParseAddr("10.0.1.4")}},
			{Instance: netns.Instance{ID: "i-b", VpcID: "vpc-1", SubnetID: "subnet-b", IP: netip.MustParseAddr("10.0.2.4")}},
		},
	}
}

type hostList struct {
	mu      sync.Mutex
	remotes []fleet.Remote
}

func (h *hostList) set(r ...fleet.Remote) { h.mu.Lock(); h.remotes = r; h.mu.Unlock() }
func (h *hostList) list(context.Context) ([]fleet.Remote, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.remotes), nil
}

// Without a remote host the local agent gets the whole state and answers
// Ready itself: the one-host path.
func TestAloneTheLocalAgentHasEverything(t *testing.T) {
	local, hosts := &fakeLocal{traffic: map[string]dataplane.Stats{"vpce-1": {NewConnections: 3}}}, &hostList{}
	f := fleet.New(fleet.Config{Local: local, Hosts: hosts.list})
	if err := f.Apply(context.Background(), region()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(local.last(), region()) {
		t.Fatalf("local agent got %+v, want the whole state", local.last())
	}
	for _, id := range []string{"vpc-1", "i-a", "i-b"} {
		if !f.Ready(id) {
			t.Errorf("%s not ready", id)
		}
	}
	if got := f.Traffic(); !reflect.DeepEqual(got, local.traffic) {
		t.Errorf("traffic %+v, want the local agent's %+v", got, local.traffic)
	}
}

// With a remote host serving us-east-1b, its instance is published to it and
// not applied locally; it is ready only once the host reports it ready about
// its current revision, and not while the host is unreachable. Its removal
// waits for the host's report while it is reachable.
func TestRemoteHostPartIsReadyWhenReported(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	local, hosts := &fakeLocal{}, &hostList{}
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true})
	f := fleet.New(fleet.Config{Local: local, Hosts: hosts.list, RevisionBase: 100})
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	if ids := placement.IDs(local.last()); !slices.Equal(ids, []string{"vpc-1", "i-a"}) {
		t.Fatalf("local part has %v, want vpc-1 and i-a", ids)
	}
	u := <-f.Watch(ctx, "host-b", 0)
	if ids := placement.IDs(u.State); u.Revision != 101 || !slices.Equal(ids, []string{"vpc-1", "i-b"}) {
		t.Fatalf("host-b's part: revision %d with %v, want 101 with vpc-1 and i-b", u.Revision, ids)
	}
	if !f.Ready("i-a") || f.Ready("i-b") || f.Ready("vpc-1") {
		t.Fatalf("before host-b reports: ready i-a %v, i-b %v, vpc-1 %v; want only i-a", f.Ready("i-a"), f.Ready("i-b"), f.Ready("vpc-1"))
	}
	// A report about an older revision does not count.
	f.Report("host-b", placement.NewReport(u.Revision-1, []string{"vpc-1", "i-b"}, []string{"vpc-1", "i-b"}), "e1", nil, nil)
	if f.Ready("i-b") {
		t.Fatal("i-b ready on a report about an older revision")
	}
	f.Report("host-b", placement.NewReport(u.Revision, []string{"vpc-1", "i-b"}, []string{"vpc-1", "i-b"}), "e1",
		map[string]dataplane.Stats{"vpce-9": {NewConnections: 2, BytesIn: 10}}, nil)
	if !f.Ready("i-b") || !f.Ready("vpc-1") {
		t.Fatal("i-b and vpc-1 not ready after host-b reported them")
	}
	if got := f.Traffic()["vpce-9"]; got.NewConnections != 2 || got.BytesIn != 10 {
		t.Errorf("traffic of host-b's endpoint: %+v", got)
	}

	// Unreachable: what is on it is not ready any more for anything new, and
	// does not hold back removals.
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: false})
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	if f.Ready("i-b") {
		t.Error("i-b ready on an unreachable host")
	}
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true})

	// i-b terminated: a new revision without it; removed only once host-b
	// reports that revision without it.
	st := region()
	st.Instances = st.Instances[:1]
	if err := f.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	u2 := <-f.Watch(ctx, "host-b", u.Revision)
	if u2.Revision <= u.Revision || slices.Contains(placement.IDs(u2.State), "i-b") {
		t.Fatalf("after terminating i-b host-b gets revision %d with %v", u2.Revision, placement.IDs(u2.State))
	}
	if f.Removed("i-b") {
		t.Fatal("i-b removed before host-b reported the new revision")
	}
	f.Report("host-b", placement.NewReport(u2.Revision, []string{"vpc-1"}, []string{"vpc-1"}), "e1", nil, nil)
	if !f.Removed("i-b") {
		t.Fatal("i-b not removed after host-b reported it gone")
	}

	// The host leaves the region: its watch ends and the local agent is alone again.
	watch := f.Watch(ctx, "host-b", u2.Revision)
	hosts.set()
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	if _, open := <-watch; open {
		t.Fatal("watch of a removed host delivered a part")
	}
	if !reflect.DeepEqual(local.last(), region()) || !f.Ready("i-b") {
		t.Fatal("after host-b left, the local agent does not have the whole state")
	}
}

// Target health is what the hosts' views combine to: the local agent's
// changes and a remote host's whole view; a host that stops reporting no
// longer counts, one that leaves the region is forgotten.
func TestTargetHealthCombinesLocalAndRemoteViews(t *testing.T) {
	local, hosts := &fakeLocal{}, &hostList{}
	var mu sync.Mutex
	recorded := map[string]string{}
	record := func(h placement.TargetHealth) { mu.Lock(); recorded[h.Target] = h.Health.State; mu.Unlock() }
	last := func(target string) string { mu.Lock(); defer mu.Unlock(); return recorded[target] }
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true})
	f := fleet.New(fleet.Config{Local: local, Hosts: hosts.list, RecordHealth: record})
	ctx := context.Background()
	target := dataplane.Target{ID: "i-b", Addr: netip.MustParseAddrPort("10.0.2.4:3306")}
	// A target group of the local part (no load balancer uses it: it stays
	// local), so the local agent still checks i-b.
	checked := region()
	checked.TargetGroups = []dataplane.TargetGroup{{ARN: "arn:tg", Targets: []dataplane.Target{target}}}
	if err := f.Apply(ctx, checked); err != nil {
		t.Fatal(err)
	}
	view := func(state string) []placement.TargetHealth {
		return []placement.TargetHealth{{TargetGroup: "arn:tg", Target: "i-b", Port: 3306, Health: model.TargetHealth{State: state}}}
	}
	f.LocalHealth("arn:tg", target, model.TargetHealth{State: model.TargetUnhealthy})
	if got := last("i-b"); got != model.TargetUnhealthy {
		t.Fatalf("local view alone: %q", got)
	}
	f.Report("host-b", placement.NewReport(1, nil, nil), "e1", nil, view(model.TargetHealthy))
	if got := last("i-b"); got != model.TargetHealthy {
		t.Fatalf("host-b sees it healthy: %q", got)
	}
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: false})
	if err := f.Apply(ctx, checked); err != nil {
		t.Fatal(err)
	}
	if got := last("i-b"); got != model.TargetUnhealthy {
		t.Fatalf("host-b unreachable: %q, want the local view, unhealthy", got)
	}
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true})
	if err := f.Apply(ctx, checked); err != nil {
		t.Fatal(err)
	}
	if got := last("i-b"); got != model.TargetHealthy {
		t.Fatalf("host-b back: %q", got)
	}
	// The local agent no longer checks i-b (its group left the local part):
	// its stale view does not count; host-b's does.
	f.LocalHealth("arn:tg", target, model.TargetHealth{State: model.TargetHealthy})
	f.Report("host-b", placement.NewReport(1, nil, nil), "e1", nil, view(model.TargetUnhealthy))
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	if got := last("i-b"); got != model.TargetUnhealthy {
		t.Fatalf("the local agent stopped checking i-b: %q, want host-b's view, unhealthy", got)
	}
	// host-b removed: a report of it that comes in late is not taken.
	f.LocalHealth("arn:tg", target, model.TargetHealth{State: model.TargetUnhealthy})
	hosts.set()
	if err := f.Apply(ctx, checked); err != nil {
		t.Fatal(err)
	}
	f.Report("host-b", placement.NewReport(1, nil, nil), "e1", nil, view(model.TargetHealthy))
	if got := last("i-b"); got != model.TargetUnhealthy {
		t.Fatalf("a late report of the removed host-b: %q, want the local view, unhealthy", got)
	}
}

// Each remote host's part lists the other hosts it links to over the backbone,
// with the pair's preshared key from the pair secret (the same on both sides)
// and the peer's public key; a plain host is no peer of encrypted ones, a host
// without a backbone is nobody's, nor one with another's address, and a
// changed key publishes a new revision.
func TestPartsCarryBackbonePeers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := func(b byte) backbone.Key { var k backbone.Key; k[0] = b; return k }
	addr := netip.MustParseAddr
	secret := []byte("0123456789abcdef0123456789abcdef")
	hosts := &hostList{}
	remotes := []fleet.Remote{
		{ID: "host-a", Zones: []string{"us-east-1a"}, Reachable: true, BackboneAddress: addr("192.0.2.1"), BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(1)},
		{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true, BackboneAddress: addr("192.0.2.2"), BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(2)},
		{ID: "host-c", Zones: []string{"us-east-1c"}, Reachable: true, BackboneAddress: addr("192.0.2.3"), BackboneMethod: string(backbone.MethodPlain)},
		{ID: "host-d", Zones: []string{"us-east-1d"}, Reachable: true, BackboneAddress: addr("192.0.2.4"), BackboneMethod: "none"},
		{ID: "host-e", Zones: []string{"us-east-1e"}, Reachable: true, BackboneAddress: addr("192.0.2.5"), BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(5)},
		{ID: "host-f", Zones: []string{"us-east-1f"}, Reachable: true, BackboneAddress: addr("192.0.2.5"), BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(6)},
	}
	hosts.set(remotes...)
	f := fleet.New(fleet.Config{Local: &fakeLocal{}, Hosts: hosts.list, RevisionBase: 100,
		PairSecret: func(context.Context) ([]byte, error) { return secret, nil }})
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	psk, err := backbone.PairKey(secret, "host-a", "host-b")
	if err != nil {
		t.Fatal(err)
	}
	part := func(host string) placement.Update { return <-f.Watch(ctx, host, 0) }
	a, b := part("host-a"), part("host-b")
	wantA := []backbone.Peer{{HostID: "host-b", Underlay: addr("192.0.2.2"), Keys: backbone.Keys{Public: key(2), Preshared: psk}}}
	wantB := []backbone.Peer{{HostID: "host-a", Underlay: addr("192.0.2.1"), Keys: backbone.Keys{Public: key(1), Preshared: psk}}}
	if !reflect.DeepEqual(a.State.Peers, wantA) || !reflect.DeepEqual(b.State.Peers, wantB) {
		t.Fatalf("peers: host-a %+v, host-b %+v; want %+v and %+v", a.State.Peers, b.State.Peers, wantA, wantB)
	}
	for _, h := range []string{"host-c", "host-d", "host-e", "host-f"} {
		if p := part(h).State.Peers; p != nil {
			t.Errorf("%s has peers %+v, want none", h, p)
		}
	}

	remotes[1].BackboneKey = key(3)
	hosts.set(remotes...)
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	next := <-f.Watch(ctx, "host-a", a.Revision)
	if len(next.State.Peers) != 1 || next.State.Peers[0].Keys.Public != key(3) {
		t.Fatalf("after host-b's new key, host-a's part (revision %d) has peers %+v", next.Revision, next.State.Peers)
	}
}

// With LocalBackbone the in-process agent is a backbone member: the remote
// hosts' peer "local" and its part's peers are theirs, with the pair keys;
// each part carries its host's transit address, and each peer its own.
func TestTheLocalAgentJoinsTheBackbone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := func(b byte) backbone.Key { var k backbone.Key; k[0] = b; return k }
	addr := netip.MustParseAddr
	secret := []byte("0123456789abcdef0123456789abcdef")
	hosts := &hostList{}
	hosts.set(fleet.Remote{ID: "host-b", Zones: []string{"us-east-1b"}, Reachable: true, BackboneAddress: addr("192.0.2.2"),
		BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(2), Transit: addr("169.254.0.3")})
	local := &fakeLocal{}
	f := fleet.New(fleet.Config{Local: local, Hosts: hosts.list, PairSecret: func(context.Context) ([]byte, error) { return secret, nil },
		LocalBackbone: &fleet.Remote{BackboneAddress: addr("192.0.2.1"), BackboneMethod: string(backbone.MethodUserspace), BackboneKey: key(1)}})
	if err := f.Apply(ctx, region()); err != nil {
		t.Fatal(err)
	}
	psk, err := backbone.PairKey(secret, fleet.LocalID, "host-b")
	if err != nil {
		t.Fatal(err)
	}
	wantLocal := []backbone.Peer{{HostID: "host-b", Underlay: addr("192.0.2.2"), Keys: backbone.Keys{Public: key(2), Preshared: psk}, Transit: addr("169.254.0.3")}}
	wantB := []backbone.Peer{{HostID: fleet.LocalID, Underlay: addr("192.0.2.1"), Keys: backbone.Keys{Public: key(1), Preshared: psk}, Transit: model.TransitLocalHost}}
	if got := local.last(); !reflect.DeepEqual(got.Peers, wantLocal) || got.HostTransit != model.TransitLocalHost {
		t.Errorf("the local part's peers: %+v from %s, want %+v from %s", got.Peers, got.HostTransit, wantLocal, model.TransitLocalHost)
	}
	if got := (<-f.Watch(ctx, "host-b", 0)).State; !reflect.DeepEqual(got.Peers, wantB) || got.HostTransit != addr("169.254.0.3") {
		t.Errorf("host-b's peers: %+v from %s, want %+v from 169.254.0.3", got.Peers, got.HostTransit, wantB)
	}
	// host-b's part routes its VPC's us-east-1a subnet to the local agent.
	u := <-f.Watch(ctx, "host-b", 0)
	if r := u.State.VPCs[0].Remote; len(r) != 1 || r[0].Host != fleet.LocalID {
		t.Errorf("host-b's remote subnets: %+v, want us-east-1a's on %s", r, fleet.LocalID)
	}
}
