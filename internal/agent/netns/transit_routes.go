package netns

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpAttempts is how often a route dump is tried when a concurrent change
// interrupts it (the kernel flags it, netlink.ErrDumpInterrupted).
const dumpAttempts = 5

// SetTransitRoutes makes the routes via a gateway in the transit namespace
// exactly routes: node transit address → the transit address of its VPC, each
// as "<node>/32 via <VPC address> dev <the VPC's link> onlink". It changes only
// what differs from the kernel's main table (one dump, then one request per
// added, changed or removed route); LinkTransit's routes to the VPCs' addresses
// are kept. Addresses outside the transit range, or a node address that is a
// linked VPC's, are an error and change nothing; a route whose VPC address is
// not linked (LinkTransit first) is left out and reported in the error, after
// the others are set.
func (h *Host) SetTransitRoutes(routes map[netip.Addr]netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for node, vpc := range routes {
		if err := validTransitAddr(node); err != nil {
			return fmt.Errorf("route to %s: %w", node, err)
		}
		if err := validTransitAddr(vpc); err != nil {
			return fmt.Errorf("route to %s: %w", node, err)
		}
	}
	name := h.TransitNamespace()
	if !nsExists(name) {
		if len(routes) == 0 {
			return nil
		}
		return fmt.Errorf("transit routes: no VPC is linked to the transit namespace (LinkTransit first)")
	}
	return withHandle(name, func(nh *netlink.Handle) error {
		t, err := readTransitTable(nh)
		if err != nil {
			return fmt.Errorf("transit routes: %w", err)
		}
		links, via := t.links, t.via
		for node := range routes {
			if _, isVPC := links[node]; isVPC {
				return fmt.Errorf("transit routes: route to %s: it is a VPC's transit address", node)
			}
		}
		for _, r := range t.others {
			if err := nh.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("transit routes: removing the route to %s: %w", prefixOf(r.Dst), err)
			}
		}
		var errs []error
		for node, vpc := range routes {
			link, ok := links[vpc]
			if !ok {
				errs = append(errs, fmt.Errorf("route to %s: no VPC with transit address %s is linked", node, vpc))
				continue
			}
			if r, ok := via[node]; ok && r.LinkIndex == link && r.Gw.Equal(vpc.AsSlice()) && r.Flags&int(netlink.FLAG_ONLINK) != 0 {
				continue
			}
			r := &netlink.Route{Dst: ipNet(node, 32), Gw: vpc.AsSlice(), LinkIndex: link, Flags: int(netlink.FLAG_ONLINK)}
			if err := nh.RouteReplace(r); err != nil {
				errs = append(errs, fmt.Errorf("route to %s via %s: %w", node, vpc, err))
			}
		}
		for node, r := range via {
			if _, ok := routes[node]; ok {
				continue
			}
			if err := nh.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("removing the route to %s: %w", node, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("transit routes: %w", err)
		}
		return nil
	})
}

// transitTable is the transit namespace's main table, sorted out.
type transitTable struct {
	links  map[netip.Addr]int           // VPC transit address → its link (LinkTransit's routes)
	via    map[netip.Addr]netlink.Route // node address → its route via a VPC
	others []netlink.Route              // other routes via a gateway: none of ours
}

// readTransitTable dumps the IPv4 main table of the transit namespace, again
// when a concurrent change interrupted the dump.
func readTransitTable(nh *netlink.Handle) (transitTable, error) {
	for attempt := 1; ; attempt++ {
		t := transitTable{links: map[netip.Addr]int{}, via: map[netip.Addr]netlink.Route{}}
		err := nh.RouteListFilteredIter(netlink.FAMILY_V4, &netlink.Route{}, 0, func(r netlink.Route) bool {
			dst := prefixOf(r.Dst)
			switch {
			case r.Gw == nil && dst.Bits() == 32:
				t.links[dst.Addr()] = r.LinkIndex
			case r.Gw != nil && dst.Bits() == 32:
				t.via[dst.Addr()] = r
			case r.Gw != nil:
				t.others = append(t.others, r)
			}
			return true
		})
		if err == nil || !errors.Is(err, netlink.ErrDumpInterrupted) || attempt == dumpAttempts {
			return t, err
		}
	}
}
