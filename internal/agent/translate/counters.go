package translate

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

// Counts are an endpoint ENI's translated traffic: flows since its counters
// were created, bytes both ways as IP packets (headers included), and (from
// Active only) the flows open now.
type Counts struct {
	Flows    uint64
	BytesIn  uint64 // client → target
	BytesOut uint64 // target → client
	Active   int64
}

// Counters reads the counters of every counted ENI address, per VPC: one
// netlink dump of the table's counters per VPC. Active is left zero.
func (t *Translator) Counters() (map[string]map[netip.Addr]Counts, error) {
	return t.read(false)
}

// Active reads the counters like Counters, and counts each ENI's open flows in
// its namespace's conntrack table: a dump of the whole table, whose cost grows
// with every flow the namespace tracks (closed ones in TIME_WAIT too), so
// callers read it seldom.
func (t *Translator) Active() (map[string]map[netip.Addr]Counts, error) {
	return t.read(true)
}

func (t *Translator) read(active bool) (map[string]map[netip.Addr]Counts, error) {
	t.mu.Lock()
	vpcs := map[string][]netip.Addr{}
	for vpc, vt := range t.applied {
		for a := range vt.counted {
			vpcs[vpc] = append(vpcs[vpc], a)
		}
	}
	t.mu.Unlock()
	out := map[string]map[netip.Addr]Counts{}
	var firstErr error
	for vpc, addrs := range vpcs {
		counts, err := t.vpcCounters(vpc, addrs, active)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("counters of %s: %w", vpc, err)
			}
			continue
		}
		out[vpc] = counts
	}
	return out, firstErr
}

func (t *Translator) vpcCounters(vpc string, addrs []netip.Addr, active bool) (map[netip.Addr]Counts, error) {
	byName := map[string]uint64{}
	err := t.conn(vpc, func(c *nftables.Conn) error {
		objs, err := c.GetNamedObjects(table)
		if err != nil {
			return err
		}
		for _, o := range objs {
			switch o := o.(type) {
			case *nftables.CounterObj:
				byName[o.Name] = o.Bytes
				byName["pkts:"+o.Name] = o.Packets
			case *nftables.NamedObj:
				if cnt, ok := o.Obj.(*expr.Counter); ok {
					byName[o.Name] = cnt.Bytes
					byName["pkts:"+o.Name] = cnt.Packets
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	want := map[netip.Addr]bool{}
	out := map[netip.Addr]Counts{}
	for _, a := range addrs {
		want[a] = true
		flows, in, o := counterNames(a)
		out[a] = Counts{Flows: byName["pkts:"+flows], BytesIn: byName[in], BytesOut: byName[o]}
	}
	if !active {
		return out, nil
	}
	marks := map[uint32]netip.Addr{}
	for a := range want {
		marks[markValue(a)] = a
	}
	err = t.withConntrack(vpc, func(c *conntrack.Conn) error {
		flows, err := c.Dump(nil)
		if err != nil {
			return err
		}
		for _, f := range flows {
			a, ok := marks[f.Mark]
			if !ok || !open(f) {
				continue
			}
			n := out[a]
			n.Active++
			out[a] = n
		}
		return nil
	})
	return out, err
}

// open reports whether a translated TCP flow is open: from its first SYN
// until one side closed it (TIME_WAIT, CLOSE and LAST_ACK are over).
func open(f conntrack.Flow) bool {
	tcp := f.ProtoInfo.TCP
	return f.TupleOrig.Proto.Protocol == unix.IPPROTO_TCP && tcp != nil && tcp.State >= 1 && tcp.State <= 5 // SYN_SENT … CLOSE_WAIT
}
