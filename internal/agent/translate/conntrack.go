package translate

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
)

// cut selects translated flows to end, in VPC vpc's namespace: those whose
// original destination is origDst (an entry's ENI:port or an exit's node
// transit address:port) and, when replySrc is valid, whose reply comes from
// replySrc (a target). The flows' conntrack mark is origDst's address, so
// when the cuts concern one ENI or node the kernel hands over only its flows.
type cut struct {
	vpc      string
	origDst  netip.AddrPort
	replySrc netip.AddrPort
}

// cutFlows deletes the conntrack entries of the cuts. The next packet of a cut
// flow from either end is reset: the namespace that lost the entry does not
// know it (nf_conntrack_tcp_loose=0) and answers a TCP packet for a flow it
// does not know with a reset, which also ends the flow's entry in the other
// namespace.
func (t *Translator) cutFlows(cuts []cut) []error {
	byVPC := map[string][]cut{}
	for _, c := range cuts {
		byVPC[c.vpc] = append(byVPC[c.vpc], c)
	}
	var errs []error
	for vpc, cs := range byVPC {
		err := t.withConntrack(vpc, func(c *conntrack.Conn) error {
			// Every dump walks the whole conntrack table (tens of
			// milliseconds even when it is empty): one per namespace, filtered
			// by the kernel when the cuts share a mark.
			filter := conntrack.NewFilter().Family(netfilter.ProtoIPv4)
			if sameMark(cs) {
				filter = filter.Mark(markValue(cs[0].origDst.Addr()))
			}
			flows, err := c.DumpFilter(filter, nil)
			if err != nil {
				return err
			}
			for _, f := range flows {
				if !matchesCut(f, cs) {
					continue
				}
				if err := c.Delete(conntrack.Flow{TupleOrig: f.TupleOrig}); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("cutting flows in %s: %w", vpc, err))
		}
	}
	return errs
}

func sameMark(cs []cut) bool {
	for _, c := range cs {
		if c.origDst.Addr() != cs[0].origDst.Addr() {
			return false
		}
	}
	return true
}

func matchesCut(f conntrack.Flow, cs []cut) bool {
	dst := netip.AddrPortFrom(f.TupleOrig.IP.DestinationAddress.Unmap(), f.TupleOrig.Proto.DestinationPort)
	src := netip.AddrPortFrom(f.TupleReply.IP.SourceAddress.Unmap(), f.TupleReply.Proto.SourcePort)
	for _, c := range cs {
		if dst == c.origDst && (!c.replySrc.IsValid() || src == c.replySrc) {
			return true
		}
	}
	return false
}

// withConntrack runs fn with a conntrack connection in vpc's namespace; a
// namespace that is gone has no flows left to cut.
func (t *Translator) withConntrack(vpc string, fn func(*conntrack.Conn) error) error {
	fd, release, err := t.open(vpc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer release()
	c, err := conntrack.Dial(&netlink.Config{NetNS: fd})
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}
