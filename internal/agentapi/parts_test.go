package agentapi

import (
	"context"
	"crypto/tls"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/placement"
)

// fleetStub is a publisher of parts and the reports it took, by host.
type fleetStub struct {
	pub     *placement.Publisher
	mu      sync.Mutex
	reports map[string]placement.Report
	health  []placement.TargetHealth // of the last report
}

func (f *fleetStub) Watch(ctx context.Context, host string, after uint64) <-chan placement.Update {
	return f.pub.Watch(ctx, host, after)
}

func (f *fleetStub) Report(host string, rep placement.Report, _ string, _ map[string]dataplane.Stats, health []placement.TargetHealth) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports[host] = rep
	f.health = health
}

// A host long-polls its own part (the one its certificate names): the newest
// revision above the one it has, or 204 when none comes; its report reaches
// the fleet under its own host ID.
func TestStateAndReportAreTheCertificatesHost(t *testing.T) {
	f := start(t)
	stub := &fleetStub{pub: placement.NewPublisher(0), reports: map[string]placement.Report{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := Start(ctx, f.reg, ServerConfig{Listen: "127.0.0.1:0", Fleet: stub, PollWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	url := "https://" + srv.Addr()
	idA, _, err := Enrol(ctx, t.TempDir(), url, f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}})
	if err != nil {
		t.Fatal(err)
	}
	idB, _, err := Enrol(ctx, t.TempDir(), url, f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1b"}})
	if err != nil {
		t.Fatal(err)
	}
	part := func(id string) agent.State {
		return agent.State{Instances: []agent.Instance{{Instance: netns.Instance{ID: id, IP: netip.MustParseAddr("10.0.0.4")}}}}
	}
	revA, _ := stub.pub.Set(idA.HostID, part("i-a"))
	stub.pub.Set(idB.HostID, part("i-b"))

	a, b := NewClient(idA, ""), NewClient(idB, "")
	defer a.Close()
	defer b.Close()
	got, ok, err := a.State(ctx, 0)
	if err != nil || !ok || got.Revision != revA || got.State.Instances[0].ID != "i-a" {
		t.Fatalf("host A's part: %+v %v %v", got, ok, err)
	}
	if got, ok, err := b.State(ctx, 0); err != nil || !ok || got.State.Instances[0].ID != "i-b" {
		t.Fatalf("host B's part: %+v %v %v", got, ok, err)
	}
	if _, ok, err := a.State(ctx, revA); err != nil || ok {
		t.Fatalf("nothing newer than %d: got ok=%v err=%v, want 204", revA, ok, err)
	}
	// A change while the host waits is delivered at once.
	done := make(chan StateResponse, 1)
	go func() {
		for {
			r, ok, err := a.State(ctx, revA)
			if err != nil || ok {
				done <- r
				return
			}
		}
	}()
	stub.pub.Set(idA.HostID, part("i-a2"))
	if r := <-done; r.Revision <= revA || r.State.Instances[0].ID != "i-a2" {
		t.Fatalf("after a change: %+v", r)
	}

	health := func(state string) []placement.TargetHealth {
		return []placement.TargetHealth{{TargetGroup: "arn:tg", Target: "i-b", Port: 80, Health: model.TargetHealth{State: state}}}
	}
	if err := a.Report(ctx, StateReport{Revision: revA, Ready: []string{"i-a"}, Present: []string{"i-a"}, Epoch: "e", Health: health(model.TargetHealthy)}); err != nil {
		t.Fatal(err)
	}
	stub.mu.Lock()
	rep, other, seen := stub.reports[idA.HostID], len(stub.reports), stub.health
	stub.mu.Unlock()
	if other != 1 || rep.Revision != revA || !slices.Equal(rep.ReadyIDs, []string{"i-a"}) {
		t.Fatalf("reports: %+v", stub.reports)
	}
	if !reflect.DeepEqual(seen, health(model.TargetHealthy)) {
		t.Fatalf("target health reached the fleet as %+v", seen)
	}
	// A state ELBv2 does not have is refused, and nothing of the report taken.
	if err := a.Report(ctx, StateReport{Revision: revA + 1, Epoch: "e", Health: health("fine")}); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("a report with target state \"fine\": %v", err)
	}
	stub.mu.Lock()
	rep = stub.reports[idA.HostID]
	stub.mu.Unlock()
	if rep.Revision != revA {
		t.Fatalf("the refused report was taken: %+v", rep)
	}
	if _, _, err := NewClientNoCert(t, url, idA).State(ctx, 0); apiCode(err) != CodeNoCertificate {
		t.Fatalf("state without a certificate: %v", err)
	}
}

// NewClientNoCert is a client that trusts the CA but presents no certificate.
func NewClientNoCert(t *testing.T, url string, id Identity) *Client {
	id.cert = tls.Certificate{}
	c := NewClient(id, "")
	t.Cleanup(c.Close)
	return c
}
