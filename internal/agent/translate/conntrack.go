package translate

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// cut selects translated flows to end: in VPC vpc's namespace, those whose
// original destination is origDst and, when replySrc is valid, whose reply
// comes from replySrc (a target).
type cut struct {
	vpc      string
	origDst  netip.AddrPort
	replySrc netip.AddrPort
	// entry marks an endpoint entry's flows, whose translated half lives in
	// the namespace of the node they were sent to.
	entry bool
}

// flowFilter matches conntrack flows (netlink.CustomConntrackFilter).
type flowFilter func(f *netlink.ConntrackFlow) bool

func (m flowFilter) MatchConntrackFlow(f *netlink.ConntrackFlow) bool { return m(f) }

func tupleIs(ip []byte, port uint16, ap netip.AddrPort) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && a.Unmap() == ap.Addr() && port == ap.Port()
}

// cutFlows deletes the conntrack entries of the cuts, and for an entry's flows
// also their entries in the namespace of the node they were translated to, so
// that no part of a cut flow lingers. The next packet of a cut flow is reset.
func (t *Translator) cutFlows(cuts []cut) []error {
	if len(cuts) == 0 {
		return nil
	}
	// Where each node's exit lives, for the second half of an entry's flows.
	nodeVPC := map[netip.AddrPort]string{}
	for vpc, vt := range t.applied {
		for node := range vt.exits {
			nodeVPC[node] = vpc
		}
	}
	byVPC := map[string][]cut{}
	for _, c := range cuts {
		byVPC[c.vpc] = append(byVPC[c.vpc], c)
	}
	var errs []error
	partners := map[string][]netip.AddrPort{} // VPC → original sources (VPC transit address and port) of flows to delete
	partnerDst := map[string][]netip.AddrPort{}
	for vpc, cs := range byVPC {
		err := t.withConntrack(vpc, func(h *netlink.Handle) error {
			_, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, flowFilter(func(f *netlink.ConntrackFlow) bool {
				for _, c := range cs {
					if !tupleIs(f.Forward.DstIP, f.Forward.DstPort, c.origDst) {
						continue
					}
					if c.replySrc.IsValid() && !tupleIs(f.Reverse.SrcIP, f.Reverse.SrcPort, c.replySrc) {
						continue
					}
					rs, ok1 := netip.AddrFromSlice(f.Reverse.SrcIP)
					rd, ok2 := netip.AddrFromSlice(f.Reverse.DstIP)
					if c.entry && ok1 && ok2 {
						node := netip.AddrPortFrom(rs.Unmap(), f.Reverse.SrcPort)
						if pv, ok := nodeVPC[node]; ok {
							partners[pv] = append(partners[pv], netip.AddrPortFrom(rd.Unmap(), f.Reverse.DstPort))
							partnerDst[pv] = append(partnerDst[pv], node)
						}
					}
					return true
				}
				return false
			}))
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("cutting flows in %s: %w", vpc, err))
		}
	}
	for vpc, srcs := range partners {
		dsts := partnerDst[vpc]
		err := t.withConntrack(vpc, func(h *netlink.Handle) error {
			_, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, flowFilter(func(f *netlink.ConntrackFlow) bool {
				for i, src := range srcs {
					if tupleIs(f.Forward.SrcIP, f.Forward.SrcPort, src) && tupleIs(f.Forward.DstIP, f.Forward.DstPort, dsts[i]) {
						return true
					}
				}
				return false
			}))
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("cutting flows in %s: %w", vpc, err))
		}
	}
	return errs
}

// withConntrack runs fn with a netlink handle in vpc's namespace.
func (t *Translator) withConntrack(vpc string, fn func(*netlink.Handle) error) error {
	fd, release, err := t.open(vpc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // the VPC is gone, and its flows with it
		}
		return err
	}
	defer release()
	h, err := netlink.NewHandleAt(vnetns.NsHandle(fd), unix.NETLINK_NETFILTER)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}
