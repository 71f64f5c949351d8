package translate

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"strait/internal/model"
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
	err = t.withConntrack(vpc, func(h *netlink.Handle) error {
		flows, err := h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
		if err != nil {
			return err
		}
		for _, f := range flows {
			d, ok := netip.AddrFromSlice(f.Forward.DstIP)
			if !ok || !want[d.Unmap()] || f.Forward.Protocol != unix.IPPROTO_TCP || !open(f) {
				continue
			}
			c := out[d.Unmap()]
			c.Active++
			out[d.Unmap()] = c
		}
		return nil
	})
	return out, err
}

// open reports whether a TCP flow is open: from its first SYN until one side
// closed it (TIME_WAIT, CLOSE, LAST_ACK are over). Flows whose entry was not
// translated (say, to an ENI with no entry for its port) are not counted.
func open(f *netlink.ConntrackFlow) bool {
	tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP)
	if !ok {
		return false
	}
	rs, _ := netip.AddrFromSlice(f.Reverse.SrcIP)
	if !model.TransitRange.Contains(rs.Unmap()) {
		return false
	}
	return tcp.State >= 1 && tcp.State <= 5 // SYN_SENT … CLOSE_WAIT
}
