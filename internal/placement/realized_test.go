package placement_test

import (
	"testing"

	"strait/internal/placement"
)

// Ready needs every host whose part has the object to be reachable and to
// report it ready about its current part; Removed needs every reachable host
// to report, about its current part, that nothing of it is left; an
// unreachable host holds back new objects on it but no removal.
func TestRealizedAcrossHosts(t *testing.T) {
	hosts := []placement.Host{{ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneA}}, {ID: "h2", Zones: []string{zoneB}}}
	parts := placement.Split(region(), hosts)
	all := func(h string) placement.Report {
		return placement.NewReport(7, placement.IDs(parts[h]), placement.IDs(parts[h]))
	}
	up := func(r placement.Realizer) placement.HostRealized {
		return placement.HostRealized{Realizer: r, Current: true, Reachable: true}
	}
	view := map[string]placement.HostRealized{"local": up(all("local")), "h1": up(all("h1")), "h2": up(all("h2"))}
	r := placement.NewRealized(parts, view)
	for _, id := range []string{"vpce-1", "vpce-3", "vpc-c", "vpc-p", "i-db", "i-app", "arn:lb/db"} {
		if !r.Ready(id) {
			t.Errorf("%s not ready though every host reports it", id)
		}
	}
	if r.Ready("vpce-unknown") {
		t.Errorf("an object in no part is ready")
	}
	if r.Removed("vpce-1") {
		t.Errorf("vpce-1 removed while hosts still have it")
	}

	// h2 unreachable: what it has is not ready; what it does not have is.
	view["h2"] = placement.HostRealized{Realizer: all("h2"), Current: true}
	r = placement.NewRealized(parts, view)
	if r.Ready("vpce-1") || r.Ready("arn:lb/web") || r.Ready("vpc-p") {
		t.Errorf("objects on an unreachable host are ready")
	}
	if !r.Ready("i-app") || !r.Ready("vpce-2") {
		t.Errorf("objects on reachable hosts only are not ready")
	}

	// h1's report is of an older part, or it reported nothing: not ready.
	view["h2"] = up(all("h2"))
	view["h1"] = placement.HostRealized{Realizer: all("h1"), Reachable: true}
	if r = placement.NewRealized(parts, view); r.Ready("i-app") || !r.Ready("i-db") {
		t.Errorf("a stale report counts: i-app ready %v, i-db ready %v", r.Ready("i-app"), r.Ready("i-db"))
	}
	view["h1"] = placement.HostRealized{Reachable: true, Current: true}
	if r = placement.NewRealized(parts, view); r.Ready("i-app") {
		t.Errorf("i-app ready on a host that reported nothing")
	}
	// A host that reports some of its part not ready holds those back.
	view["h1"] = up(placement.NewReport(7, []string{"vpc-c", "vpc-p"}, placement.IDs(parts["h1"])))
	if r = placement.NewRealized(parts, view); r.Ready("i-app") || r.Ready("vpce-1") || !r.Ready("vpc-c") {
		t.Errorf("ready: i-app %v vpce-1 %v vpc-c %v; want false false true", r.Ready("i-app"), r.Ready("vpce-1"), r.Ready("vpc-c"))
	}

	// vpce-1 is being deleted: no part has it. h1 still has it.
	gone := func(h string) placement.Report {
		var present []string
		for _, id := range placement.IDs(parts[h]) {
			if id != "vpce-1" {
				present = append(present, id)
			}
		}
		return placement.NewReport(8, nil, present)
	}
	view = map[string]placement.HostRealized{"local": up(gone("local")), "h1": up(all("h1")), "h2": up(gone("h2"))}
	if placement.NewRealized(parts, view).Removed("vpce-1") {
		t.Errorf("vpce-1 removed while h1 reports it has it")
	}
	view["h1"] = placement.HostRealized{Realizer: gone("h1"), Reachable: true}
	if placement.NewRealized(parts, view).Removed("vpce-1") {
		t.Errorf("vpce-1 removed on a report of a part before its removal")
	}
	view["h1"] = placement.HostRealized{Reachable: true}
	if placement.NewRealized(parts, view).Removed("vpce-1") {
		t.Errorf("vpce-1 removed while a reachable host has reported nothing")
	}
	view["h1"] = up(gone("h1"))
	if !placement.NewRealized(parts, view).Removed("vpce-1") {
		t.Errorf("vpce-1 not removed though every host reports it gone")
	}
	// An unreachable host, or one that left, does not hold a removal back.
	view["h1"] = placement.HostRealized{Realizer: all("h1"), Current: true}
	if !placement.NewRealized(parts, view).Removed("vpce-1") {
		t.Errorf("an unreachable host holds back a removal")
	}
	delete(view, "h1")
	if r := placement.NewRealized(parts, view); !r.Removed("vpce-1") || r.Ready("i-app") {
		t.Errorf("without h1's view: vpce-1 removed %v, i-app ready %v; want true false", r.Removed("vpce-1"), r.Ready("i-app"))
	}
}

// A report answers from sorted lists, whatever order it was given.
func TestReport(t *testing.T) {
	r := placement.NewReport(3, []string{"vpce-2", "i-1", "arn:lb/x"}, []string{"vpc-1", "vpce-2", "i-1", "arn:lb/x", "i-9"})
	for _, id := range []string{"vpce-2", "i-1", "arn:lb/x"} {
		if !r.Ready(id) || r.Removed(id) {
			t.Errorf("%s: ready %v removed %v", id, r.Ready(id), r.Removed(id))
		}
	}
	if r.Ready("i-9") || r.Removed("i-9") || r.Ready("i-2") || !r.Removed("i-2") {
		t.Errorf("i-9 ready %v removed %v; i-2 ready %v removed %v", r.Ready("i-9"), r.Removed("i-9"), r.Ready("i-2"), r.Removed("i-2"))
	}
}
