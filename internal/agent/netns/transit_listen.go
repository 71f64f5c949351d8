package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TransitDevice is the name of a VPC namespace's end of its transit link: a
// listener bound to it (dataplane.ListenDevice) accepts only connections
// that came over the transit link, from the transit namespace (and through
// it from other hosts' relays, across the backbone).
const TransitDevice = transitIface

// SetTransitListeners makes addrs (load balancer nodes' transit addresses) the
// transit addresses the VPC's namespace holds as its own, /32 on its lo: the
// relay listens there, on TransitDevice only, for the connections other
// hosts' relays send to those nodes. Other addresses of model.TransitRange
// outside model.TransitFixed on lo are removed; nothing else is touched.
// The VPC's namespace must exist (EnsureVPC).
func (h *Host) SetTransitListeners(vpcID string, addrs []netip.Addr) error {
	for _, a := range addrs {
		if err := validTransitAddr(a); err != nil {
			return fmt.Errorf("%s: %w", vpcID, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return withHandle(h.Namespace(vpcID), func(nh *netlink.Handle) error {
		lo, err := nh.LinkByName("lo")
		if err != nil {
			return err
		}
		have, err := nh.AddrList(lo, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		held := map[netip.Addr]bool{}
		for _, a := range have {
			p := prefixOf(a.IPNet)
			if p.Bits() != 32 || validTransitAddr(p.Addr()) != nil {
				continue
			}
			if slices.Contains(addrs, p.Addr()) {
				held[p.Addr()] = true
				continue
			}
			if err := nh.AddrDel(lo, &netlink.Addr{IPNet: a.IPNet}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
				return fmt.Errorf("%s: removing %s from lo: %w", vpcID, p, err)
			}
		}
		for _, a := range addrs {
			if held[a] {
				continue
			}
			if err := nh.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(a, 32)}); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%s: adding %s to lo: %w", vpcID, a, err)
			}
		}
		return nil
	})
}
