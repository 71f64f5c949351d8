package firewall

import (
	"maps"
	"net/netip"
	"slices"
)

// maxDelta is the most element changes applied as such; more replace the table.
const maxDelta = 2048

// delta is the element changes that turn table t into o, when the two differ in
// set and map elements only (and not too many of them); ok is false otherwise.
func (t nftTable) delta(o nftTable) (b nftBatch, ok bool) {
	if t.vpc != o.vpc || t.chains != o.chains || len(t.sets) != len(o.sets) {
		return b, false
	}
	type setDelta struct {
		name        string
		gone, added []netip.Addr
	}
	var sets []setDelta
	n := 0
	for _, name := range slices.Sorted(maps.Keys(o.sets)) {
		old, ok := t.sets[name]
		if !ok {
			return b, false
		}
		gone, added := addrDiff(old, o.sets[name])
		n += len(gone) + len(added)
		sets = append(sets, setDelta{name, gone, added})
	}
	var gone, added []mapEntry
	for a, chain := range t.ingress {
		if o.ingress[a] != chain {
			gone = append(gone, mapEntry{a, chain})
		}
	}
	for a, chain := range o.ingress {
		if t.ingress[a] != chain {
			added = append(added, mapEntry{a, chain})
		}
	}
	if n += len(gone) + len(added); n > maxDelta {
		return b, false
	}
	// Deletions first: a changed map entry is deleted and added again.
	for _, d := range sets {
		b.addrs(true, d.name, d.gone)
	}
	b.jumps(true, ingressMap, gone)
	for _, d := range sets {
		b.addrs(false, d.name, d.added)
	}
	b.jumps(false, ingressMap, added)
	return b, true
}

// addrDiff compares two sorted address lists: what only a has, what only b has.
func addrDiff(a, b []netip.Addr) (onlyA, onlyB []netip.Addr) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Less(b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j].Less(a[i]):
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}
