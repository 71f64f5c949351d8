package firewall

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/google/nftables"
)

// maxDelta is the most element changes applied as such; more replace the table.
const maxDelta = 2048

// elementDelta is element changes of table "inet strait", in the order they are
// made: deletions first, so that a changed map entry is deleted and added again.
type elementDelta struct {
	changes []elementChange
}

// elementChange adds (or, with del, deletes) addresses of a member set, or
// entries of the ingress map.
type elementChange struct {
	del   bool
	set   string
	addrs []netip.Addr
	jumps []mapEntry
}

func (b *elementDelta) addrs(del bool, set string, addrs []netip.Addr) {
	if len(addrs) > 0 {
		b.changes = append(b.changes, elementChange{del: del, set: set, addrs: addrs})
	}
}

func (b *elementDelta) jumps(del bool, entries []mapEntry) {
	if len(entries) > 0 {
		b.changes = append(b.changes, elementChange{del: del, set: ingressMap, jumps: entries})
	}
}

// send makes the changes in the calling thread's network namespace, in one
// transaction: all of them, or none.
func (b elementDelta) send() error {
	if len(b.changes) == 0 {
		return nil
	}
	conn, err := newConn()
	if err != nil {
		return err
	}
	l := &loader{conn: conn, table: straitTable()}
	for _, c := range b.changes {
		s, elems := memberSet(c.set), addrElements(c.addrs)
		switch {
		case c.jumps == nil:
		case c.del:
			s, elems = ingressSet(), mapKeys(c.jumps) // deleted by key
		default:
			s, elems = ingressSet(), jumpElements(c.jumps)
		}
		if c.del {
			l.deleteElements(s, elems)
		} else {
			l.addElements(s, elems)
		}
	}
	if l.err != nil {
		return fmt.Errorf("nftables: %w", l.err)
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

func mapKeys(entries []mapEntry) []nftables.SetElement {
	keys := make([]nftables.SetElement, len(entries))
	for i, e := range entries {
		keys[i] = nftables.SetElement{Key: addrKey(e.addr)}
	}
	return keys
}

// delta is the element changes that turn table t into o, when the two differ in
// set and map elements only (and not too many of them); ok is false otherwise.
func (t nftTable) delta(o nftTable) (b elementDelta, ok bool) {
	if t.vpc != o.vpc || t.chainText != o.chainText || len(t.sets) != len(o.sets) {
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
	b.jumps(true, gone)
	for _, d := range sets {
		b.addrs(false, d.name, d.added)
	}
	b.jumps(false, added)
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
