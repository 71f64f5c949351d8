package placement

import (
	"testing"

	"strait/internal/model"
)

func th(state, host string) TargetHealth {
	return TargetHealth{TargetGroup: "arn:tg", Target: "i-1", Port: 3306, Health: model.TargetHealth{State: state, Description: host}}
}

// states is the combined states changes hold, by target.
func states(changes []TargetHealth) map[string]string {
	out := map[string]string{}
	for _, c := range changes {
		out[c.Target] = c.Health.State
	}
	return out
}

func TestHealthCombinesTheHostsViews(t *testing.T) {
	h := NewHealth()
	if got := states(h.Set("local", th(model.TargetInitial, "local"))); got["i-1"] != model.TargetInitial {
		t.Fatalf("one host's view: %v", got)
	}
	// Another host's verdict beats a view that has none yet.
	if got := states(h.Replace("host-b", []TargetHealth{th(model.TargetUnhealthy, "host-b")})); got["i-1"] != model.TargetUnhealthy {
		t.Fatalf("initial and unhealthy: %v, want unhealthy", got)
	}
	// One host that reaches it is enough.
	if got := states(h.Set("local", th(model.TargetHealthy, "local"))); got["i-1"] != model.TargetHealthy {
		t.Fatalf("healthy and unhealthy: %v, want healthy", got)
	}
	// Nothing changes: nothing to record.
	if got := h.Replace("host-b", []TargetHealth{th(model.TargetUnhealthy, "host-b")}); len(got) != 0 {
		t.Fatalf("an unchanged view: %+v, want no change", got)
	}
	// The host that saw it healthy stops reporting: the others' view stands.
	both := []string{"local", "host-b"}
	if got := states(h.SetHosts(both, []string{"local"})); got["i-1"] != model.TargetUnhealthy {
		t.Fatalf("healthy host unreachable: %v, want unhealthy", got)
	}
	if got := states(h.SetHosts(both, nil)); got["i-1"] != model.TargetHealthy {
		t.Fatalf("the host back: %v, want healthy", got)
	}
	// Every host that sees it unreachable: it keeps its last health.
	if got := h.SetHosts(both, both); len(got) != 0 {
		t.Fatalf("no reachable view: %+v, want no change", got)
	}
	h.SetHosts(both, nil)
	// Hosts whose views no longer have it: forgotten, and a new view starts afresh.
	h.Replace("host-b", nil)
	if got := h.Retain("local", nil); len(got) != 0 {
		t.Fatalf("the last view gone: %+v, want no change recorded", got)
	}
	if len(h.combined) != 0 || len(h.views["local"]) != 0 || len(h.views["host-b"]) != 0 {
		t.Fatalf("after every view dropped the target: combined %v, views %v", h.combined, h.views)
	}
	if got := states(h.Set("local", th(model.TargetHealthy, "local"))); got["i-1"] != model.TargetHealthy {
		t.Fatalf("registered again: %v", got)
	}
}

// Among equally telling views the first host by ID's is taken, whichever
// reported last, so that two hosts' reasons do not alternate.
func TestHealthTieGoesToTheFirstHost(t *testing.T) {
	h := NewHealth()
	h.Replace("host-b", []TargetHealth{th(model.TargetUnhealthy, "host-b")})
	h.Replace("host-a", []TargetHealth{th(model.TargetUnhealthy, "host-a")})
	got := h.Replace("host-b", []TargetHealth{th(model.TargetUnhealthy, "host-b")})
	if len(got) != 0 || h.combined[th("", "").Key()].Description != "host-a" {
		t.Fatalf("changes %+v, combined %+v: want host-a's view, unchanged", got, h.combined)
	}
}

// A host removed from the region loses its view, and a report of it that
// comes in after the removal is not taken.
func TestHealthForgetsRemovedHosts(t *testing.T) {
	h := NewHealth()
	h.SetHosts([]string{"local", "host-b"}, nil)
	h.Set("local", th(model.TargetUnhealthy, "local"))
	h.Replace("host-b", []TargetHealth{th(model.TargetHealthy, "host-b")})
	if got := states(h.SetHosts([]string{"local"}, nil)); got["i-1"] != model.TargetUnhealthy {
		t.Fatalf("host-b removed: %v, want the local view, unhealthy", got)
	}
	if got := h.Replace("host-b", []TargetHealth{th(model.TargetHealthy, "host-b")}); len(got) != 0 {
		t.Fatalf("a late report of the removed host changed %+v", got)
	}
}
