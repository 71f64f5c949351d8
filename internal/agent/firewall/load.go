package firewall

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
)

// Tables and their element changes go to the kernel over netlink through
// google/nftables, each in one transaction (one batch, one Flush): all of it
// is made, or none.

// straitTable is table "inet strait" as the library names it.
func straitTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: nftTableName}
}

// replyTimeout bounds the wait for the kernel's answers to a transaction.
const replyTimeout = 5 * time.Second

// newConn opens an nftables connection in the calling thread's network
// namespace (netns.Host.Do puts the thread there): the library creates its
// socket on the calling thread.
func newConn() (*nftables.Conn, error) {
	conn, err := nftables.New(nftables.WithSockOptions(func(c *netlink.Conn) error {
		return c.SetReadDeadline(time.Now().Add(replyTimeout))
	}))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return conn, nil
}

// maxBatchElements bounds the elements of one netlink message: a message's
// element list must stay below 64 KiB (a netlink attribute's length).
const maxBatchElements = 256

// loader builds a transaction: the connection it is queued on, the table, and
// the named sets created so far (rules refer to them by name and ID).
type loader struct {
	conn  *nftables.Conn
	table *nftables.Table
	sets  map[string]*nftables.Set
	err   error
}

// setID is the ID of a named set created in this transaction (0, for the kernel
// to find it by name, otherwise).
func (l *loader) setID(name string) uint32 {
	if s, ok := l.sets[name]; ok {
		return s.ID
	}
	return 0
}

// addSet queues a named set (a verdict map, with isMap) and its elements.
func (l *loader) addSet(s *nftables.Set, elems []nftables.SetElement) {
	s.Table = l.table
	if err := l.conn.AddSet(s, nil); err != nil && l.err == nil {
		l.err = err
	}
	l.sets[s.Name] = s
	l.addElements(s, elems)
}

// addElements queues adding elements to a set, at most maxBatchElements a message.
func (l *loader) addElements(s *nftables.Set, elems []nftables.SetElement) {
	for chunk := range slices.Chunk(elems, maxBatchElements) {
		if err := l.conn.SetAddElements(s, chunk); err != nil && l.err == nil {
			l.err = err
		}
	}
}

// deleteElements queues deleting elements of a set, as addElements.
func (l *loader) deleteElements(s *nftables.Set, elems []nftables.SetElement) {
	for chunk := range slices.Chunk(elems, maxBatchElements) {
		if err := l.conn.SetDeleteElements(s, chunk); err != nil && l.err == nil {
			l.err = err
		}
	}
}

// elementKey is an element of an anonymous set: a key, or the end of an
// interval (the first key after it).
type elementKey struct {
	key []byte
	end bool
}

// anonymousSet queues a constant set of keys of type key that exists for a rule
// only; interval sets hold ranges (see prefixElements).
func (l *loader) anonymousSet(key nftables.SetDatatype, interval bool, elems []elementKey) *nftables.Set {
	s := &nftables.Set{Table: l.table, Anonymous: true, Constant: true, Interval: interval, KeyType: key}
	vals := make([]nftables.SetElement, len(elems))
	for i, e := range elems {
		vals[i] = nftables.SetElement{Key: e.key, IntervalEnd: e.end}
	}
	if err := l.conn.AddSet(s, vals); err != nil && l.err == nil {
		l.err = err
	}
	return s
}

// prefixSet queues the anonymous set of IPv4 prefixes (sorted, none containing
// another) as nft makes it: of addresses when they are all single addresses,
// else of intervals.
func (l *loader) prefixSet(prefixes []netip.Prefix) *nftables.Set {
	if !slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return !p.IsSingleIP() }) {
		elems := make([]elementKey, len(prefixes))
		for i, p := range prefixes {
			elems[i] = elementKey{key: addrKey(p.Addr())}
		}
		return l.anonymousSet(nftables.TypeIPAddr, false, elems)
	}
	return l.anonymousSet(nftables.TypeIPAddr, true, prefixElements(prefixes))
}

// prefixElements are the elements of an interval set of IPv4 prefixes (sorted,
// none containing another), as nft makes them: adjacent prefixes merged into one
// interval, each interval a start key and an end key (the first address after
// it, none when it reaches the last address), led by the end of the interval
// before the first one.
func prefixElements(prefixes []netip.Prefix) []elementKey {
	type span struct{ first, last netip.Addr }
	var spans []span
	for _, p := range prefixes {
		last := lastAddr(p)
		if n := len(spans); n > 0 && spans[n-1].last.Next() == p.Addr() {
			spans[n-1].last = last
			continue
		}
		spans = append(spans, span{p.Addr(), last})
	}
	var out []elementKey
	if len(spans) > 0 && spans[0].first != netip.IPv4Unspecified() {
		out = append(out, elementKey{key: addrKey(netip.IPv4Unspecified()), end: true})
	}
	for _, s := range spans {
		out = append(out, elementKey{key: addrKey(s.first)})
		if next := s.last.Next(); next.IsValid() {
			out = append(out, elementKey{key: addrKey(next), end: true})
		}
	}
	return out
}

// lastAddr is the last IPv4 address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}

func addrKey(a netip.Addr) []byte {
	b := a.As4()
	return b[:]
}

// memberSet is the set of a security group's members.
func memberSet(name string) *nftables.Set {
	return &nftables.Set{Table: straitTable(), Name: name, KeyType: nftables.TypeIPAddr}
}

// ingressSet is the verdict map of a VPC namespace.
func ingressSet() *nftables.Set {
	return &nftables.Set{Table: straitTable(), Name: ingressMap, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeVerdict}
}

func addrElements(addrs []netip.Addr) []nftables.SetElement {
	out := make([]nftables.SetElement, len(addrs))
	for i, a := range addrs {
		out[i] = nftables.SetElement{Key: addrKey(a)}
	}
	return out
}

func jumpElements(entries []mapEntry) []nftables.SetElement {
	out := make([]nftables.SetElement, len(entries))
	for i, e := range entries {
		out[i] = nftables.SetElement{Key: addrKey(e.addr), VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: e.chain}}
	}
	return out
}

// mapEntry is an element of the ingress map.
type mapEntry struct {
	addr  netip.Addr
	chain string
}

// load replaces table "inet strait" of the calling thread's network namespace
// with t in one transaction: it adds the table (so that deleting it cannot
// fail), deletes it, and adds it whole: chains first (map elements jump to
// them), then sets with their elements, then the rules.
func (t nftTable) load() error {
	conn, err := newConn()
	if err != nil {
		return err
	}
	l := &loader{conn: conn, table: straitTable(), sets: map[string]*nftables.Set{}}
	conn.AddTable(l.table)
	conn.DelTable(l.table)
	conn.AddTable(l.table)
	chains := make([]*nftables.Chain, len(t.chains))
	for i, c := range t.chains {
		ch := &nftables.Chain{Name: c.name, Table: l.table}
		if c.hook != "" {
			policy := c.policy
			ch.Type, ch.Hooknum, ch.Priority, ch.Policy = nftables.ChainTypeFilter, hooks[c.hook], nftables.ChainPriorityRef(nftables.ChainPriority(c.priority)), &policy
		}
		chains[i] = conn.AddChain(ch)
	}
	for _, name := range slices.Sorted(maps.Keys(t.sets)) {
		l.addSet(memberSet(name), addrElements(t.sets[name]))
	}
	if t.vpc {
		var entries []mapEntry
		for _, a := range slices.SortedFunc(maps.Keys(t.ingress), netip.Addr.Compare) {
			entries = append(entries, mapEntry{a, t.ingress[a]})
		}
		l.addSet(ingressSet(), jumpElements(entries))
	}
	for i, c := range t.chains {
		for _, r := range c.rules {
			if exprs := r.exprs(l); exprs != nil {
				conn.AddRule(&nftables.Rule{Table: l.table, Chain: chains[i], Exprs: exprs})
			}
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
