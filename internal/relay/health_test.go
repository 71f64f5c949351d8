package relay

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"strait/internal/dataplane"
	"strait/internal/model"
)

func target(id string) dataplane.Target {
	return dataplane.Target{ID: id, Addr: netip.MustParseAddrPort(id + ":80")}
}

// The log answers every target's last report to a new reader, only what
// changed to one that read before, and forgets targets the configuration
// dropped.
func TestHealthLog(t *testing.T) {
	ctx := context.Background()
	l := newHealthLog()
	l.add("tg", target("10.0.0.1"), model.TargetHealth{State: "initial"})
	l.add("tg", target("10.0.0.2"), model.TargetHealth{State: "initial"})
	l.add("tg", target("10.0.0.1"), model.TargetHealth{State: "healthy"})
	all, next := l.since(ctx, 0, 0)
	if len(all) != 2 || all[0].Target.ID != "10.0.0.2" || all[1].Health.State != "healthy" {
		t.Fatalf("since 0: %+v", all)
	}
	if got, _ := l.since(ctx, next, 0); len(got) != 0 {
		t.Fatalf("nothing changed, got %+v", got)
	}
	// A reader waiting for a change gets it.
	done := make(chan []HealthReport)
	go func() {
		got, _ := l.since(ctx, next, time.Hour)
		done <- got
	}()
	l.add("tg", target("10.0.0.2"), model.TargetHealth{State: "unhealthy"})
	if got := <-done; len(got) != 1 || got[0].Health.State != "unhealthy" {
		t.Fatalf("after a change: %+v", got)
	}
	// A sequence number of another relay process starts over.
	if got, _ := l.since(ctx, 1000, 0); len(got) != 2 {
		t.Fatalf("since a foreign sequence: %+v", got)
	}
	l.retain(dataplane.Config{TargetGroups: []dataplane.TargetGroup{{ARN: "tg", Targets: []dataplane.Target{target("10.0.0.2")}}}})
	if got, _ := l.since(ctx, 0, 0); len(got) != 1 || got[0].Target.ID != "10.0.0.2" {
		t.Fatalf("after retain: %+v", got)
	}
}
