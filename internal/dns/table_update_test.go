package dns

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// TestUpdateMatchesRebuild applies random sequences of changes — names added,
// removed, given other addresses, addresses shared between names (so PTR
// records move), invalid names, IPv4-mapped and IPv6 addresses — and checks
// after each that the table update derives from the previous one is the table
// newTable builds from scratch, and that SetRecords serves it.
func TestUpdateMatchesRebuild(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a.vpce.example.com.", "bb.vpce.example.com.", "c.vpce.example.com.", "ip-10-0-1-5.ec2.internal.",
		"x.other.example.", "zz.example.com.", "only.", "bad name.", "db.example.com.", "y.db.example.com."}
	addrs := []netip.Addr{netip.MustParseAddr("10.0.1.4"), netip.MustParseAddr("10.0.1.5"), netip.MustParseAddr("10.0.2.9"),
		netip.MustParseAddr("::ffff:10.0.1.4"), netip.MustParseAddr("fd00::1"), netip.MustParseAddr("10.9.0.1")}
	// Many unchanged names, so that a few changes are worth an update.
	cur := map[string][]netip.Addr{}
	for i := range 100 {
		cur[fmt.Sprintf("n%d.bulk.example.", i)] = []netip.Addr{netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(1 + i%250)})}
	}
	s := New(log)
	s.SetRecords(cur)
	updated := 0
	for step := range 2000 {
		next := maps.Clone(cur)
		for range 1 + rng.IntN(3) {
			n := names[rng.IntN(len(names))]
			if rng.IntN(3) == 0 {
				delete(next, n)
				continue
			}
			var list []netip.Addr
			for range rng.IntN(3) {
				list = append(list, addrs[rng.IntN(len(addrs))])
			}
			next[n] = list
		}
		prev := s.table.Load()
		want := newTable(next, prev.serial+1, log)
		if got, ok := prev.update(next, prev.serial+1, log); ok {
			updated++
			sameTable(t, fmt.Sprintf("step %d: update", step), got, want)
		}
		s.SetRecords(next)
		sameTable(t, fmt.Sprintf("step %d: SetRecords", step), s.table.Load(), want)
		cur = next
	}
	if updated < 1000 {
		t.Fatalf("only %d of 2000 changes of a few names were applied as updates", updated)
	}
}

// TestUpdateFallsBack checks that names not in canonical form, and changes of
// most names, are built anew (with the same result).
func TestUpdateFallsBack(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	a := netip.MustParseAddr("10.0.0.1")
	base := map[string][]netip.Addr{"one.example.com.": {a}}
	prev := newTable(base, 1, log)
	for _, next := range []map[string][]netip.Addr{
		{"one.example.com.": {a}, "Two.Example.com": {a}},
		{"one.example.com.": {a}, "two.example.com": {a}},
	} {
		if _, ok := prev.update(next, 2, log); ok {
			t.Errorf("update of %v to %v was incremental, want a rebuild (names not canonical)", base, next)
		}
	}
	mixed := newTable(map[string][]netip.Addr{"One.example.com.": {a}}, 1, log)
	if _, ok := mixed.update(map[string][]netip.Addr{"One.example.com.": {a}, "one.example.com.": {netip.MustParseAddr("10.0.0.2")}}, 2, log); ok {
		t.Error("update of a table with a non-canonical name was incremental")
	}
	many := map[string][]netip.Addr{}
	for i := range 100 {
		many[fmt.Sprintf("n%d.example.com.", i)] = []netip.Addr{a}
	}
	if _, ok := prev.update(many, 2, log); ok {
		t.Error("100 new names were applied as an update, want a rebuild")
	}
}

// sameTable fails unless got has want's records, PTR records, zones and owners
// (in any order).
func sameTable(t *testing.T, what string, got, want *table) {
	t.Helper()
	if !reflect.DeepEqual(got.a, want.a) || !reflect.DeepEqual(got.ptr, want.ptr) || !reflect.DeepEqual(got.zones, want.zones) {
		t.Fatalf("%s:\ngot  a=%v ptr=%v zones=%v\nwant a=%v ptr=%v zones=%v", what, got.a, got.ptr, got.zones, want.a, want.ptr, want.zones)
	}
	if g, w := sortedOwners(got.owners), sortedOwners(want.owners); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: owners %v, want %v", what, g, w)
	}
	if got.serial != want.serial {
		t.Fatalf("%s: serial %d, want %d", what, got.serial, want.serial)
	}
}

func sortedOwners(m map[netip.Addr][]string) map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	for ip, names := range m {
		out[ip] = slices.Sorted(slices.Values(names))
	}
	return out
}
