package dns

import (
	"cmp"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// table is one immutable generation of the resolver's records. SetRecords builds
// the next one — from this one when few names changed (see update) — and swaps
// it in; queries read whichever generation is current.
type table struct {
	a      map[string][]netip.Addr // owner name → IPv4 addresses
	ptr    map[string]string       // reverse name (in-addr.arpa) → target name
	zones  map[string]int          // zone apex the resolver is authoritative for → names and reverse names in it
	serial uint32                  // SOA serial: the generation number

	// What update needs to derive the next generation: the records the table
	// was built from (SetRecords' argument, which its caller no longer changes),
	// for each address the names that have it, and whether a record's name was
	// not in canonical form.
	src    map[string][]netip.Addr
	owners map[netip.Addr][]string
	mixed  bool
}

// newTable builds a table from records: names are made lower-case and fully
// qualified, non-IPv4 addresses and invalid names are dropped (and logged), and
// each address gets a PTR record to the first name that has it, names taken
// shortest first, then in alphabetical order.
func newTable(records map[string][]netip.Addr, serial uint32, log *slog.Logger) *table {
	t := &table{a: map[string][]netip.Addr{}, ptr: map[string]string{}, zones: map[string]int{}, serial: serial,
		src: records, owners: map[netip.Addr][]string{}}
	for name, addrs := range records {
		n := canonical(name)
		t.mixed = t.mixed || n != name
		if n == "." || !validName(n) {
			log.Warn("dns: dropping record with an invalid name", "name", name)
			continue
		}
		t.a[n] = appendIPv4(t.a[n], n, addrs, log)
	}
	names := make([]string, 0, len(t.a))
	for n := range t.a {
		names = append(names, n)
	}
	slices.SortFunc(names, ptrOrder)
	for _, n := range names {
		t.zones[zoneOf(n)]++
		for _, ip := range t.a[n] {
			t.owners[ip] = append(t.owners[ip], n)
			rev, err := mdns.ReverseAddr(ip.String())
			if err != nil {
				continue
			}
			if _, taken := t.ptr[rev]; !taken {
				t.ptr[rev] = n
				t.zones[zoneOf(rev)]++
			}
		}
	}
	return t
}

// appendIPv4 appends to list the IPv4 addresses of addrs (IPv4-mapped ones
// unmapped) that it lacks, logging the others as dropped from name.
func appendIPv4(list []netip.Addr, name string, addrs []netip.Addr, log *slog.Logger) []netip.Addr {
	for _, ip := range addrs {
		ip = ip.Unmap()
		if !ip.Is4() {
			log.Warn("dns: dropping a non-IPv4 address", "name", name, "addr", ip)
			continue
		}
		if !slices.Contains(list, ip) {
			list = append(list, ip)
		}
	}
	return list
}

// ptrOrder orders the names that share an address: the first one gets its PTR
// record (shortest first, then alphabetical).
func ptrOrder(x, y string) int { return cmp.Or(cmp.Compare(len(x), len(y)), cmp.Compare(x, y)) }

// canonical is name in lower case with a trailing dot.
func canonical(name string) string { return mdns.CanonicalName(name) }

// validName reports whether n is a well-formed domain name in presentation form
// that a query could ask for (no escapes, labels of 1–63 octets).
func validName(n string) bool {
	if _, ok := mdns.IsDomainName(n); !ok || strings.ContainsAny(n, "\\ ") {
		return false
	}
	for _, l := range mdns.SplitDomainName(n) {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

// zoneOf is the zone a record name belongs to: its parent domain, or the name
// itself when its parent would be the root (the resolver never claims a TLD
// or the root).
func zoneOf(name string) string {
	i, end := mdns.NextLabel(name, 0)
	if end || name[i:] == "." || mdns.CountLabel(name[i:]) < 2 {
		return name
	}
	return name[i:]
}

// answer is what the table says about one question.
type answer struct {
	rcode int
	auth  bool         // the name is in one of the table's zones
	a     []netip.Addr // A records of the name
	ptr   string       // PTR target of the name
	soa   string       // zone apex whose SOA is the answer (SOA query at an apex)
	neg   string       // zone apex whose SOA goes in the authority section
}

// lookup answers a question for the lower-case name: records of a known name
// (NODATA for a type it lacks), the SOA of a zone apex, NXDOMAIN with the SOA of
// the closest enclosing zone, or a plain NXDOMAIN for anything outside every
// zone — nothing is forwarded.
func (t *table) lookup(name string, qtype uint16) answer {
	res := answer{rcode: mdns.RcodeSuccess, auth: true}
	addrs, isA := t.a[name]
	target, isPTR := t.ptr[name]
	switch {
	case isA || isPTR:
		if isA && (qtype == mdns.TypeA || qtype == mdns.TypeANY) {
			res.a = addrs
		}
		if isPTR && (qtype == mdns.TypePTR || qtype == mdns.TypeANY) {
			res.ptr = target
		}
		if qtype == mdns.TypeSOA && t.zones[name] > 0 {
			res.soa = name
		} else if len(res.a) == 0 && res.ptr == "" {
			res.neg = t.enclosingZone(name)
		}
	case t.zones[name] > 0:
		if qtype == mdns.TypeSOA || qtype == mdns.TypeANY {
			res.soa = name
		} else {
			res.neg = name
		}
	default:
		res.rcode = mdns.RcodeNameError
		res.neg = t.enclosingZone(name)
		res.auth = res.neg != ""
	}
	return res
}

// enclosingZone is the closest zone apex at or above name, or "".
func (t *table) enclosingZone(name string) string {
	for off, end := 0, false; !end; off, end = mdns.NextLabel(name, off) {
		if t.zones[name[off:]] > 0 {
			return name[off:]
		}
	}
	return ""
}
