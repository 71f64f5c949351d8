package dns

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"

	mdns "github.com/miekg/dns"
)

// update derives the table of records from t when that is cheaper than building
// it anew: when few names changed and every name that changed is already
// lower-case and fully qualified (as the agent gives them). It then costs the
// copy of t's maps plus the changed names and their addresses, not the
// validation, reverse names and ordering of every name. ok is false when
// records must be built with newTable; the result is the table newTable would
// build.
func (t *table) update(records map[string][]netip.Addr, serial uint32, log *slog.Logger) (next *table, ok bool) {
	var changed []string
	kept := 0
	for name, addrs := range records {
		old, had := t.src[name]
		if had {
			kept++
		}
		if !had || !slices.Equal(old, addrs) {
			changed = append(changed, name)
		}
	}
	if kept < len(t.src) {
		for name := range t.src {
			if _, still := records[name]; !still {
				changed = append(changed, name)
			}
		}
	}
	if len(changed) > len(records)/4+16 {
		return nil, false
	}
	for _, name := range changed {
		if canonical(name) != name {
			return nil, false
		}
	}
	if t.mixed {
		// A name spelt otherwise may share its canonical form with a changed
		// one; only a rebuild merges them as newTable does.
		return nil, false
	}
	next = &table{a: t.a, ptr: t.ptr, zones: t.zones, serial: serial, src: records, owners: t.owners}
	if len(changed) == 0 {
		return next, true
	}
	next.a, next.ptr, next.zones, next.owners = maps.Clone(t.a), maps.Clone(t.ptr), maps.Clone(t.zones), maps.Clone(t.owners)
	affected := map[netip.Addr]bool{}
	for _, n := range changed {
		next.setName(n, records, affected, log)
	}
	for ip := range affected {
		next.setPTR(ip)
	}
	return next, true
}

// setName makes the canonical name n have the addresses records gives it (or
// removes it), keeping zones and owners in step, and marks the addresses it
// gained or lost in affected. It changes next's maps, which are its own.
func (next *table) setName(n string, records map[string][]netip.Addr, affected map[netip.Addr]bool, log *slog.Logger) {
	addrs, want := records[n]
	if want && (n == "." || !validName(n)) {
		log.Warn("dns: dropping record with an invalid name", "name", n)
		want = false
	}
	old, had := next.a[n]
	var list []netip.Addr
	if want {
		list = appendIPv4(nil, n, addrs, log)
		next.a[n] = list
	} else {
		delete(next.a, n)
	}
	switch {
	case want && !had:
		next.zones[zoneOf(n)]++
	case !want && had:
		next.release(zoneOf(n))
	}
	for _, ip := range old {
		if !slices.Contains(list, ip) {
			next.owners[ip] = slices.DeleteFunc(slices.Clone(next.owners[ip]), func(o string) bool { return o == n })
			if len(next.owners[ip]) == 0 {
				delete(next.owners, ip)
			}
			affected[ip] = true
		}
	}
	for _, ip := range list {
		if !slices.Contains(old, ip) {
			next.owners[ip] = append(slices.Clone(next.owners[ip]), n)
			affected[ip] = true
		}
	}
}

// setPTR points ip's reverse name at the first of its names in ptrOrder, or
// removes it when no name has ip any more.
func (next *table) setPTR(ip netip.Addr) {
	rev, err := mdns.ReverseAddr(ip.String())
	if err != nil {
		return
	}
	_, had := next.ptr[rev]
	owners := next.owners[ip]
	if len(owners) == 0 {
		if had {
			delete(next.ptr, rev)
			next.release(zoneOf(rev))
		}
		return
	}
	next.ptr[rev] = slices.MinFunc(owners, ptrOrder)
	if !had {
		next.zones[zoneOf(rev)]++
	}
}

// release drops one name from zone's count, and the zone with its last name.
func (next *table) release(zone string) {
	if next.zones[zone] <= 1 {
		delete(next.zones, zone)
		return
	}
	next.zones[zone]--
}
