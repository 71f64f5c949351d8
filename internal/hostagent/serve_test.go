package hostagent

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/agentapi"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/placement"
)

// server serves one host's parts from a publisher and passes its reports on.
type server struct {
	pub     *placement.Publisher
	reports chan agentapi.StateReport
}

func (s *server) State(ctx context.Context, after uint64) (agentapi.StateResponse, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	u, ok := <-s.pub.Watch(ctx, "h", after)
	return agentapi.StateResponse{Revision: u.Revision, State: u.State}, ok, nil
}

func (s *server) Report(ctx context.Context, rep agentapi.StateReport) error {
	select {
	case s.reports <- rep:
	case <-ctx.Done():
	}
	return nil
}

// dp is a data plane that has what it was given last.
type dp struct {
	mu   sync.Mutex
	last agent.State
}

func (d *dp) Apply(_ context.Context, st agent.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = st
	return nil
}

func (d *dp) Ready(id string) bool { return slices.Contains(d.Present(), id) }
func (d *dp) Present() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(slices.Values(placement.IDs(d.last)))
}
func (d *dp) Traffic() map[string]dataplane.Stats {
	return map[string]dataplane.Stats{"vpce-1": {NewConnections: 1}}
}

func part(ids ...string) agent.State {
	var st agent.State
	for _, id := range ids {
		st.Instances = append(st.Instances, agent.Instance{Instance: netns.Instance{ID: id, IP: netip.MustParseAddr("10.0.0.4")}})
	}
	return st
}

// Each revision published is applied and reported with what is ready and
// present and the traffic; a later revision replaces what the host has.
func TestServeAppliesAndReportsEachRevision(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{pub: placement.NewPublisher(0), reports: make(chan agentapi.StateReport)}
	d := &dp{}
	done := make(chan error, 1)
	health := NewHealthView()
	go func() { done <- Serve(ctx, srv, d, health, nil) }()
	defer func() { cancel(); <-done }()

	want := func(rev uint64, ids ...string) {
		t.Helper()
		for rep := range srv.reports {
			if rep.Revision != rev {
				continue // a report of an earlier revision, on the timer
			}
			if !slices.Equal(rep.Ready, ids) || !slices.Equal(rep.Present, ids) || rep.Traffic["vpce-1"].NewConnections != 1 || rep.Epoch == "" {
				t.Fatalf("report of revision %d: %+v, want %v ready and present", rev, rep, ids)
			}
			return
		}
	}
	r1, _ := srv.pub.Set("h", part("i-1", "i-2"))
	want(r1, "i-1", "i-2")
	r2, _ := srv.pub.Set("h", part("i-2"))
	want(r2, "i-2")

	// The health its checks saw goes with the reports, of registered targets only.
	target := dataplane.Target{ID: "i-2", Addr: netip.MustParseAddrPort("10.0.0.4:80")}
	health.Record("arn:tg", target, model.TargetHealth{State: model.TargetHealthy})
	health.Record("arn:tg", dataplane.Target{ID: "i-9", Addr: netip.MustParseAddrPort("10.0.0.9:80")}, model.TargetHealth{State: model.TargetUnhealthy})
	withGroup := part("i-2")
	withGroup.TargetGroups = []dataplane.TargetGroup{{ARN: "arn:tg", Targets: []dataplane.Target{target}}}
	r3, _ := srv.pub.Set("h", withGroup)
	for rep := range srv.reports {
		if rep.Revision != r3 {
			continue
		}
		wantHealth := []placement.TargetHealth{{TargetGroup: "arn:tg", Target: "i-2", Port: 80, Health: model.TargetHealth{State: model.TargetHealthy}}}
		if !reflect.DeepEqual(rep.Health, wantHealth) {
			t.Fatalf("health reported: %+v, want %+v", rep.Health, wantHealth)
		}
		break
	}
	if got := health.Snapshot(part("i-2")); len(got) != 0 {
		t.Fatalf("the group gone: %+v still in the view", got)
	}
}
