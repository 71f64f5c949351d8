package dataplane

import (
	"net/netip"
	"testing"
)

func TestRendezvous(t *testing.T) {
	keys := []uint64{keyHash("a", netip.MustParseAddrPort("10.0.0.1:80")), keyHash("b", netip.MustParseAddrPort("10.0.0.2:80")),
		keyHash("c", netip.MustParseAddrPort("10.0.0.3:80")), keyHash("d", netip.MustParseAddrPort("10.0.0.4:80"))}
	const flows = 20000
	var sel Rendezvous
	before := make([]int, flows)
	count := make([]int, len(keys))
	for f := range flows {
		flow := mix64(uint64(f))
		before[f] = sel.Pick(flow, keys)
		if sel.Pick(flow, keys) != before[f] {
			t.Fatal("Pick is not deterministic")
		}
		count[before[f]]++
	}
	for i, n := range count {
		if n < flows/4*8/10 || n > flows/4*12/10 {
			t.Fatalf("target %d got %d of %d flows: %v", i, n, flows, count)
		}
	}
	// A fifth target takes about a fifth of the flows, all from the others; no
	// flow moves between old targets.
	grown := append(keys[:len(keys):len(keys)], keyHash("e", netip.MustParseAddrPort("10.0.0.5:80")))
	moved := 0
	for f := range flows {
		got := sel.Pick(mix64(uint64(f)), grown)
		if got != before[f] {
			if got != 4 {
				t.Fatalf("flow %d moved from %d to old target %d", f, before[f], got)
			}
			moved++
		}
	}
	if moved < flows/5*8/10 || moved > flows/5*12/10 {
		t.Fatalf("%d of %d flows moved to the new target, want about a fifth", moved, flows)
	}
	// Removing a target moves only its flows; order of candidates is irrelevant.
	shrunk := []uint64{keys[3], keys[0], keys[2]} // without b
	for f := range flows {
		got := shrunk[sel.Pick(mix64(uint64(f)), shrunk)]
		if before[f] != 1 && got != keys[before[f]] {
			t.Fatalf("flow %d moved off a remaining target", f)
		}
	}
}

func TestFlowHash(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.1.2:40000")
	l := netip.MustParseAddrPort("10.0.3.4:443")
	if flowHash(a, l) != flowHash(netip.MustParseAddrPort("[::ffff:10.0.1.2]:40000"), l) {
		t.Fatal("IPv4-mapped address hashes differently")
	}
	seen := map[uint64]bool{}
	for p := range 1000 {
		seen[flowHash(netip.AddrPortFrom(a.Addr(), uint16(40000+p)), l)] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct hashes for 1000 flows", len(seen))
	}
}
