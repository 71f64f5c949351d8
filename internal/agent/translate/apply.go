package translate

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Opener opens a VPC's network namespace (netns.Host.NamespaceFd): a
// descriptor and the function that closes it. A namespace that does not exist
// gives an error satisfying os.ErrNotExist.
type Opener func(vpcID string) (fd int, release func(), err error)

// Translator keeps the tables of the VPC namespaces on the kernel path. Apply
// changes them by difference: entries, exits and counted addresses coming and
// going add and remove chains and map elements, and target changes rewrite
// slot elements only.
type Translator struct {
	open Opener
	log  *slog.Logger

	mu      sync.Mutex
	applied map[string]*vpcTable // VPC → what its table holds
}

// vpcTable is what one namespace's table holds.
type vpcTable struct {
	entries  map[netip.AddrPort]Entry
	exits    map[netip.AddrPort]Exit // Targets replaced by the slots' targets
	counted  map[netip.Addr]bool
	timeouts map[time.Duration]bool
}

func newVPCTable() *vpcTable {
	return &vpcTable{entries: map[netip.AddrPort]Entry{}, exits: map[netip.AddrPort]Exit{}, counted: map[netip.Addr]bool{}, timeouts: map[time.Duration]bool{}}
}

// holds reports whether the table already holds exactly ns.
func (vt *vpcTable) holds(ns Namespace) bool {
	if len(ns.Entries) != len(vt.entries) || len(ns.Exits) != len(vt.exits) || len(ns.Counted) != len(vt.counted) {
		return false
	}
	for _, e := range ns.Entries {
		if vt.entries[e.ENI] != e {
			return false
		}
	}
	for _, a := range ns.Counted {
		if !vt.counted[a] {
			return false
		}
	}
	for _, x := range ns.Exits {
		old, ok := vt.exits[x.Node]
		if !ok || old.Source != x.Source || old.Idle != x.Idle ||
			!slices.Equal(old.Targets, slotTargets(x.Targets)) || !slices.Equal(old.Registered, x.Registered) {
			return false
		}
	}
	for _, d := range idleTimeouts(ns) {
		if !vt.timeouts[d] {
			return false
		}
	}
	return true
}

// New returns a Translator that reaches namespaces through open.
func New(open Opener, log *slog.Logger) *Translator {
	return &Translator{open: open, log: log, applied: map[string]*vpcTable{}}
}

// conn runs fn with a netlink connection to vpc's namespace.
func (t *Translator) conn(vpc string, fn func(*nftables.Conn) error) error {
	fd, release, err := t.open(vpc)
	if err != nil {
		return err
	}
	defer release()
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err != nil {
		return err
	}
	return fn(c)
}

// Apply makes the namespaces' tables hold nss: VPCs left out that had a table
// lose it (their flows are cut). Flows of entries that go, and flows to
// targets that leave an exit's Registered set, are cut. It goes on past a
// failing namespace and reports every failure.
func (t *Translator) Apply(nss []Namespace) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	var cuts []cut
	want := map[string]bool{}
	for _, ns := range nss {
		want[ns.VPC] = true
		c, err := t.applyVPC(ns)
		cuts = append(cuts, c...)
		if err != nil {
			errs = append(errs, fmt.Errorf("translate %s: %w", ns.VPC, err))
		}
	}
	for vpc, vt := range t.applied {
		if want[vpc] {
			continue
		}
		for eni := range vt.entries {
			cuts = append(cuts, cut{vpc: vpc, origDst: eni, entry: true})
		}
		for node := range vt.exits {
			cuts = append(cuts, cut{vpc: vpc, origDst: node})
		}
		err := t.conn(vpc, func(c *nftables.Conn) error {
			c.DelTable(table)
			return c.Flush()
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("translate %s: removing table: %w", vpc, err))
			continue
		}
		delete(t.applied, vpc)
	}
	errs = append(errs, t.cutFlows(cuts)...)
	return errors.Join(errs...)
}

// applyVPC brings one namespace's table to ns and returns the flows to cut.
func (t *Translator) applyVPC(ns Namespace) ([]cut, error) {
	vt := t.applied[ns.VPC]
	if vt != nil && vt.holds(ns) {
		return nil, nil // nothing to change: no netlink round trip
	}
	var cuts []cut
	err := t.conn(ns.VPC, func(c *nftables.Conn) error {
		if vt == nil {
			if err := t.reset(c); err != nil {
				return err
			}
			vt = newVPCTable()
		}
		next := newVPCTable()
		sets := fixedSetsByName()
		// A netlink batch has a size limit: changes go in batches of about
		// batchItems entries, exits or counted addresses, each item whole in one
		// (its chain, rules and map element together).
		items := 0
		flushSome := func() error {
			if items++; items < batchItems {
				return nil
			}
			items = 0
			return c.Flush()
		}

		// Timeout policies first: chains refer to them.
		for _, d := range idleTimeouts(ns) {
			next.timeouts[d] = true
			if !vt.timeouts[d] {
				c.AddObj(timeoutObj(d))
			}
		}
		// Entries.
		for _, e := range ns.Entries {
			next.entries[e.ENI] = e
			old, had := vt.entries[e.ENI]
			ch := &nftables.Chain{Table: table, Name: entryChain(e.ENI)}
			switch {
			case !had:
				c.AddChain(ch)
				addRules(c, entryRules(ch, e))
				if err := c.SetAddElements(sets[mapEntries], []nftables.SetElement{gotoElem(addrPortKey(e.ENI), ch.Name)}); err != nil {
					return err
				}
			case old != e:
				c.FlushChain(ch)
				addRules(c, entryRules(ch, e))
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		for eni := range vt.entries {
			if _, ok := next.entries[eni]; ok {
				continue
			}
			if err := c.SetDeleteElements(sets[mapEntries], []nftables.SetElement{{Key: addrPortKey(eni)}}); err != nil {
				return err
			}
			ch := &nftables.Chain{Table: table, Name: entryChain(eni)}
			c.FlushChain(ch)
			c.DelChain(ch)
			if !slices.Contains(ns.Relayed, eni) {
				cuts = append(cuts, cut{vpc: ns.VPC, origDst: eni, entry: true})
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		// Exits.
		snat := map[netip.Addr]netip.Addr{}
		for _, x := range ns.Exits {
			snat[x.Node.Addr()] = x.Source
			x.Targets = slotTargets(x.Targets)
			next.exits[x.Node] = x
			old, had := vt.exits[x.Node]
			ch := &nftables.Chain{Table: table, Name: exitChain(x.Node)}
			slots := slotSet(x.Node)
			if !had {
				if err := c.AddSet(slots, slotElems(x.Targets, nil)); err != nil {
					return err
				}
				c.AddChain(ch)
				addRules(c, exitRules(ch, x))
				if err := c.SetAddElements(sets[mapExits], []nftables.SetElement{gotoElem(addrPortKey(x.Node), ch.Name)}); err != nil {
					return err
				}
				if err := flushSome(); err != nil {
					return err
				}
				continue
			}
			if old.Idle != x.Idle {
				c.FlushChain(ch)
				addRules(c, exitRules(ch, x))
			}
			if del, add := slotDelta(old.Targets, x.Targets); len(del)+len(add) > 0 {
				if len(del) > 0 {
					if err := c.SetDeleteElements(slots, del); err != nil {
						return err
					}
				}
				if len(add) > 0 {
					if err := c.SetAddElements(slots, add); err != nil {
						return err
					}
				}
			}
			for _, gone := range missing(old.Registered, x.Registered) {
				cuts = append(cuts, cut{vpc: ns.VPC, origDst: x.Node, replySrc: gone})
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		oldSNAT := map[netip.Addr]netip.Addr{}
		for node, x := range vt.exits {
			oldSNAT[node.Addr()] = x.Source
			if _, ok := next.exits[node]; ok {
				continue
			}
			if err := c.SetDeleteElements(sets[mapExits], []nftables.SetElement{{Key: addrPortKey(node)}}); err != nil {
				return err
			}
			ch := &nftables.Chain{Table: table, Name: exitChain(node)}
			c.FlushChain(ch)
			c.DelChain(ch)
			c.DelSet(slotSet(node))
			if !slices.Contains(ns.Relayed, node) {
				cuts = append(cuts, cut{vpc: ns.VPC, origDst: node})
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		for a, src := range oldSNAT {
			if snat[a] != src {
				if err := c.SetDeleteElements(sets[mapSNAT], []nftables.SetElement{{Key: mark(a)}}); err != nil {
					return err
				}
			}
		}
		for a, src := range snat {
			if oldSNAT[a] != src {
				if err := c.SetAddElements(sets[mapSNAT], []nftables.SetElement{{Key: mark(a), Val: addrBytes(src)}}); err != nil {
					return err
				}
			}
		}
		// Counted addresses.
		for _, a := range ns.Counted {
			next.counted[a] = true
			if vt.counted[a] {
				continue
			}
			flows, in, out := counterNames(a)
			for _, n := range []string{flows, in, out} {
				c.AddObj(&nftables.CounterObj{Table: table, Name: n})
			}
			ch := &nftables.Chain{Table: table, Name: countChain(a)}
			c.AddChain(ch)
			addRules(c, countRules(ch, a))
			if err := c.SetAddElements(sets[mapCounted], []nftables.SetElement{jumpElem(mark(a), ch.Name)}); err != nil {
				return err
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		for a := range vt.counted {
			if next.counted[a] {
				continue
			}
			if err := c.SetDeleteElements(sets[mapCounted], []nftables.SetElement{{Key: mark(a)}}); err != nil {
				return err
			}
			ch := &nftables.Chain{Table: table, Name: countChain(a)}
			c.FlushChain(ch)
			c.DelChain(ch)
			flows, in, out := counterNames(a)
			for _, n := range []string{flows, in, out} {
				c.DeleteObject(&nftables.CounterObj{Table: table, Name: n})
			}
			if err := flushSome(); err != nil {
				return err
			}
		}
		// Timeout policies stay while the table does: flows that took one keep
		// it (deleting a policy resets its flows to the default timeouts).
		for d := range vt.timeouts {
			next.timeouts[d] = true
		}
		if err := c.Flush(); err != nil {
			return err
		}
		t.applied[ns.VPC] = next
		return nil
	})
	if err != nil {
		// The table holds part of the change or differs from what we think:
		// rebuild it on the next Apply.
		delete(t.applied, ns.VPC)
	}
	return cuts, err
}

// batchItems is how many entries, exits or counted addresses go in one netlink
// batch: each is up to eight messages, and the kernel acknowledges every
// message with a copy of it, which must fit the socket's receive buffer
// (64 items overflowed it: ENOBUFS; TestManyEntries).
const batchItems = 16

// reset makes the namespace's table hold the hooks and fixed maps only,
// keeping its named objects: the counters go on counting, and the conntrack
// timeout policies of flows in progress stay (a restarted server adopts the
// table this way). Counters and policies left over are deleted by the first
// Apply that does not want them, after this one.
func (t *Translator) reset(c *nftables.Conn) error {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return err
	}
	exists := slices.ContainsFunc(tables, func(x *nftables.Table) bool { return x.Name == TableName })
	c.AddTable(table)
	if exists {
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return err
		}
		var mine []*nftables.Chain
		for _, ch := range chains {
			if ch.Table.Name == TableName {
				mine = append(mine, ch)
				c.FlushChain(ch)
			}
		}
		sets, err := c.GetSets(table)
		if err != nil {
			return err
		}
		// Maps hold verdicts that refer to chains: they go first.
		for _, s := range sets {
			c.DelSet(s)
		}
		for _, ch := range mine {
			c.DelChain(ch)
		}
	}
	pre, post, fwd := baseChains()
	for _, ch := range []*nftables.Chain{pre, post, fwd} {
		c.AddChain(ch)
	}
	for _, s := range fixedSets() {
		if err := c.AddSet(s, nil); err != nil {
			return err
		}
	}
	addRules(c, baseRules(pre, post, fwd))
	return nil
}

func fixedSetsByName() map[string]*nftables.Set {
	out := map[string]*nftables.Set{}
	for _, s := range fixedSets() {
		out[s.Name] = s
	}
	return out
}

func addRules(c *nftables.Conn, rules []*nftables.Rule) {
	for _, r := range rules {
		c.AddRule(r)
	}
}

func gotoElem(k []byte, chain string) nftables.SetElement {
	return nftables.SetElement{Key: k, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain}}
}

func jumpElem(k []byte, chain string) nftables.SetElement {
	return nftables.SetElement{Key: k, VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

// slotElems are the elements of slots whose target differs from old's.
func slotElems(slots, old []netip.AddrPort) []nftables.SetElement {
	var out []nftables.SetElement
	for i, ap := range slots {
		if i < len(old) && old[i] == ap {
			continue
		}
		out = append(out, nftables.SetElement{Key: slotKey(i), Val: addrPortKey(ap)})
	}
	return out
}

// slotDelta returns the slot elements to delete and to add to go from old to
// next (a changed slot is deleted and added in the same transaction).
func slotDelta(old, next []netip.AddrPort) (del, add []nftables.SetElement) {
	for i := range max(len(old), len(next)) {
		switch {
		case i >= len(next):
			del = append(del, nftables.SetElement{Key: slotKey(i)})
		case i >= len(old):
			add = append(add, nftables.SetElement{Key: slotKey(i), Val: addrPortKey(next[i])})
		case old[i] != next[i]:
			del = append(del, nftables.SetElement{Key: slotKey(i)})
			add = append(add, nftables.SetElement{Key: slotKey(i), Val: addrPortKey(next[i])})
		}
	}
	return del, add
}

// missing returns what old has and next does not.
func missing(old, next []netip.AddrPort) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range old {
		if !slices.Contains(next, a) {
			out = append(out, a)
		}
	}
	return out
}

// idleTimeouts are the distinct idle timeouts ns's chains use.
func idleTimeouts(ns Namespace) []time.Duration {
	set := map[time.Duration]bool{}
	for _, e := range ns.Entries {
		set[e.Idle] = true
	}
	for _, x := range ns.Exits {
		set[x.Idle] = true
	}
	return slices.Sorted(maps.Keys(set))
}
