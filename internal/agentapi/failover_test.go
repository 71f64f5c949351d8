package agentapi

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/placement"
)

// Two server replicas over one registry: the agent learns both from a
// heartbeat answer, follows a NotLeader answer to the leader, and goes on
// with the other replica when its own is gone.
func TestAgentFollowsTheLeaderAcrossReplicas(t *testing.T) {
	f := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stub := &fleetStub{pub: placement.NewPublisher(0), reports: map[string]placement.Report{}}
	// Replica A leads first, then B.
	var aLeads atomic.Bool
	aLeads.Store(true)
	var urls [2]string
	replicas := func(context.Context) []string { return urls[:] }
	a, err := Start(ctx, f.reg, ServerConfig{Listen: "127.0.0.1:0", Fleet: stub, PollWait: 100 * time.Millisecond, Replicas: replicas,
		Leader: func() (bool, string) { return aLeads.Load(), urls[1] }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Start(ctx, f.reg, ServerConfig{Listen: "127.0.0.1:0", Fleet: stub, PollWait: 100 * time.Millisecond, Replicas: replicas,
		Leader: func() (bool, string) { return !aLeads.Load(), "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	urls = [2]string{"https://" + a.Addr(), "https://" + b.Addr()}

	dir := t.TempDir()
	id, _, err := Enrol(ctx, dir, urls[0], f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(id, dir)
	defer c.Close()
	if got := c.Servers(); !slices.Equal(got, urls[:1]) {
		t.Fatalf("before a heartbeat the agent knows %v", got)
	}
	resp, err := c.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}, State: "running"})
	if err != nil || !slices.Equal(resp.Servers, urls[:]) {
		t.Fatalf("heartbeat: %+v %v, want the replicas %v", resp, err, urls)
	}
	if !c.learn(resp.Servers) || !slices.Equal(c.Servers(), urls[:]) {
		t.Fatalf("learnt %v", c.Servers())
	}
	if err := c.saveServers(); err != nil {
		t.Fatal(err)
	}
	if stored, _, err := LoadIdentity(dir); err != nil || !slices.Equal(stored.Servers, urls[:]) {
		t.Fatalf("the data directory keeps %+v (%v)", stored.Servers, err)
	}

	rev, _ := stub.pub.Set(id.HostID, agent.State{Instances: []agent.Instance{{Instance: netns.Instance{ID: "i-1", IP: netip.MustParseAddr("10.0.0.4")}}}})
	if got, ok, err := c.State(ctx, 0); err != nil || !ok || got.Revision != rev || c.server() != urls[0] {
		t.Fatalf("part from the leader A: %+v %v %v (calling %s)", got, ok, err, c.server())
	}
	// B leads now: A answers NotLeader naming B, and the agent goes there.
	aLeads.Store(false)
	if err := call(ctx, c.current().http, urls[0]+PathReport, StateReport{Revision: rev}, &struct{}{}); apiCode(err) != CodeNotLeader {
		t.Fatalf("a report to a replica that does not lead: %v, want %s", err, CodeNotLeader)
	}
	if err := c.Report(ctx, StateReport{Revision: rev, Ready: []string{"i-1"}, Epoch: "e"}); err != nil || c.server() != urls[1] {
		t.Fatalf("report after the leader changed: %v (calling %s, want %s)", err, c.server(), urls[1])
	}
	// A goes away and B stays the leader: heartbeats and parts go on with B,
	// also when the agent starts over with A first.
	a.Close()
	c.failover(urls[1], errTransport, map[string]bool{urls[1]: true}) // as if B had failed once: A is next, and gone
	if c.server() != urls[0] {
		t.Fatalf("calling %s, want A", c.server())
	}
	if _, err := c.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}, State: "running"}); err != nil || c.server() != urls[1] {
		t.Fatalf("heartbeat with A gone: %v (calling %s)", err, c.server())
	}
	if _, _, err := c.State(ctx, rev); err != nil {
		t.Fatalf("part from B: %v", err)
	}
}

// A replica that names a leader this host cannot reach does not keep the
// agent from the leader it knows.
func TestAgentIgnoresAnUnusableLeaderURL(t *testing.T) {
	f := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stub := &fleetStub{pub: placement.NewPublisher(0), reports: map[string]placement.Report{}}
	gone := "https://" + testFreePort(t) // nothing listens
	a, err := Start(ctx, f.reg, ServerConfig{Listen: "127.0.0.1:0", Fleet: stub, PollWait: 100 * time.Millisecond,
		Leader: func() (bool, string) { return false, gone }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	b, err := Start(ctx, f.reg, ServerConfig{Listen: "127.0.0.1:0", Fleet: stub, PollWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	id, _, err := Enrol(ctx, t.TempDir(), "https://"+a.Addr(), f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}})
	if err != nil {
		t.Fatal(err)
	}
	id.Servers = []string{"https://" + b.Addr()}
	c := NewClient(id, "")
	defer c.Close()
	for range 3 { // each time from A: NotLeader naming gone, gone refused, then B
		c.mu.Lock()
		c.at = 0
		c.mu.Unlock()
		if err := c.Report(ctx, StateReport{Revision: 1, Epoch: "e"}); err != nil || c.server() != "https://"+b.Addr() {
			t.Fatalf("report: %v (calling %s, want B)", err, c.server())
		}
	}
}

func testFreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// errTransport stands for a server that could not be reached.
var errTransport = &netErr{}

type netErr struct{}

func (*netErr) Error() string { return "connection refused" }
