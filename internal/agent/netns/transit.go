package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"strait/internal/model"
)

// The kernel forwarding path joins the VPC namespaces through one transit
// namespace per server, "strait-<tag>-transit": it holds model.TransitGateway on
// its lo and, for each linked VPC, one end of a veth pair whose other end,
// "transit" in the VPC's namespace, holds the VPC's transit address. The transit
// namespace routes each VPC's address to its veth and each load balancer node's
// transit address via its VPC's (SetTransitRoutes). Its name has neither the
// "vpc-" nor the "i-" prefix, so Managed does not report it; Down removes it with
// the server's other namespaces.

// TransitID is the ID part of the transit namespace's name: Namespace(TransitID)
// is TransitNamespace(), and Do and NamespaceFd accept it.
const TransitID = "transit"

// transitIface is the name of a VPC namespace's end of its link to the transit
// namespace.
const transitIface = "transit"

// transitLinkName is the name of the transit namespace's end of a VPC's link.
func transitLinkName(vpcID string) string { return shortName("t", vpcID) }

// TransitNamespace is the name of this host's transit namespace.
func (h *Host) TransitNamespace() string { return h.Namespace(TransitID) }

// sysctls the transit namespace needs: strict reverse-path filtering, so a VPC
// can only send from addresses routed to its own link (its transit address, or
// what it forwards for, never another VPC's), set before forwarding; ARP replies
// for model.TransitGateway (on lo) on every link, whatever the host's default
// (a new namespace inherits the host's conf/all values).
func transitSysctls(link string) [][2]string {
	return [][2]string{
		{"net/ipv4/conf/all/rp_filter", "1"},
		{"net/ipv4/conf/default/rp_filter", "1"},
		{"net/ipv4/conf/" + link + "/rp_filter", "1"},
		{"net/ipv4/conf/all/arp_ignore", "0"},
		{"net/ipv4/conf/" + link + "/arp_ignore", "0"},
		{"net/ipv4/ip_forward", "1"},
	}
}

// vpcTransitSysctls are what a VPC namespace needs on its transit link: it
// forwards (EnsureVPC set it already) and answers ARP for its transit address.
var vpcTransitSysctls = [][2]string{
	{"net/ipv4/ip_forward", "1"},
	{"net/ipv4/conf/all/arp_ignore", "0"},
	{"net/ipv4/conf/" + transitIface + "/arp_ignore", "0"},
}

// conntrackLoose is the sysctl that keeps conntrack from picking up TCP flows
// in the middle: a packet of a flow whose entry was removed is invalid (and gets
// a reset from the VPC's forward chain) instead of starting a new entry.
const conntrackLoose = "net/netfilter/nf_conntrack_tcp_loose"

// validTransitAddr checks that a is an address of model.TransitRange outside
// model.TransitFixed (what VPCs and load balancer nodes get).
func validTransitAddr(a netip.Addr) error {
	if !a.Is4() || !model.TransitRange.Contains(a) || model.TransitFixed.Contains(a) {
		return fmt.Errorf("transit address %s is not in %s outside %s", a, model.TransitRange, model.TransitFixed)
	}
	return nil
}

// LinkTransit links the VPC's namespace to the transit namespace with transit
// address addr, and is idempotent:
//   - the transit namespace exists, lo up holding model.TransitGateway/32,
//     forwarding on, strict reverse-path filtering on its links;
//   - a veth pair joins the two namespaces: "transit" in the VPC's, up, holding
//     exactly addr/32, with the route model.TransitRange via model.TransitGateway
//     (onlink); in the transit namespace "t" + 12 hex digits of the VPC ID, up,
//     with the route addr/32 dev <it>. A different address the VPC had before
//     is replaced, with its route (routes of SetTransitRoutes via the old address
//     stay until SetTransitRoutes is called with the new one);
//   - the VPC's namespace forwards and has nf_conntrack_tcp_loose=0. That sysctl
//     exists only while the nf_conntrack module is loaded (it is loaded with the
//     first nftables conntrack or NAT rule on the host); when it is missing,
//     LinkTransit leaves it and sets it on a later call (each call checks).
//
// An invalid addr means the VPC has no transit address yet: its link, if any, is
// removed. The VPC's namespace must exist (EnsureVPC).
func (h *Host) LinkTransit(vpcID string, addr netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !addr.IsValid() {
		return h.unlinkTransit(vpcID)
	}
	if err := validTransitAddr(addr); err != nil {
		return fmt.Errorf("%s: %w", vpcID, err)
	}
	vpcNS, err := openNamespace(h.Namespace(vpcID))
	if err != nil {
		return fmt.Errorf("%s: %w (EnsureVPC first)", vpcID, err)
	}
	defer vpcNS.Close()
	if err := h.ensureTransitNamespace(); err != nil {
		return err
	}
	trNS, err := openNamespace(h.TransitNamespace())
	if err != nil {
		return err
	}
	defer trNS.Close()
	link := transitLinkName(vpcID)
	err = withHandleAt(trNS, func(th *netlink.Handle) error {
		return withHandleAt(vpcNS, func(vh *netlink.Handle) error {
			outer, inner, err := ensureVeth(th, vh, link, transitIface, int(vpcNS))
			if err != nil {
				return err
			}
			if err := EnsureUp(th, outer); err != nil {
				return err
			}
			if err := EnsureUp(vh, inner); err != nil {
				return err
			}
			if err := ensureOnlyAddr(vh, inner, netip.PrefixFrom(addr, 32)); err != nil {
				return err
			}
			gw := &netlink.Route{LinkIndex: inner.Attrs().Index, Dst: ipNet(model.TransitRange.Addr(), model.TransitRange.Bits()),
				Gw: model.TransitGateway.AsSlice(), Flags: int(netlink.FLAG_ONLINK)}
			if err := ensureRoute(vh, inner, gw); err != nil {
				return err
			}
			return ensureOnlyDevRoute(th, outer, addr)
		})
	})
	if err != nil {
		return fmt.Errorf("%s: linking to the transit namespace: %w", vpcID, err)
	}
	if err := setSysctls(h.TransitNamespace(), transitSysctls(link)); err != nil {
		return fmt.Errorf("%s: transit namespace: %w", vpcID, err)
	}
	if err := setSysctls(h.Namespace(vpcID), vpcTransitSysctls); err != nil {
		return fmt.Errorf("%s: %w", vpcID, err)
	}
	set, err := setSysctlIfPresent(h.Namespace(vpcID), conntrackLoose, "0")
	if err != nil {
		return fmt.Errorf("%s: %w", vpcID, err)
	}
	if !set {
		h.log.Debug("nf_conntrack not loaded yet: nf_conntrack_tcp_loose left for a later LinkTransit", "vpc", vpcID)
	}
	return nil
}

// unlinkTransit removes the VPC's link to the transit namespace (both ends go
// with either), if there is one.
func (h *Host) unlinkTransit(vpcID string) error {
	for _, end := range []struct{ ns, link string }{
		{h.Namespace(vpcID), transitIface},
		{h.TransitNamespace(), transitLinkName(vpcID)},
	} {
		if !nsExists(end.ns) {
			continue
		}
		err := withHandle(end.ns, func(nh *netlink.Handle) error {
			l, err := nh.LinkByName(end.link)
			if errors.As(err, new(netlink.LinkNotFoundError)) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := nh.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				return err
			}
			h.log.Info("unlinked VPC from the transit namespace", "vpc", vpcID)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: removing the transit link %s: %w", vpcID, end.link, err)
		}
	}
	return nil
}

// ensureTransitNamespace makes the transit namespace exist with lo up holding
// model.TransitGateway. Its sysctls are set by LinkTransit, after the link.
func (h *Host) ensureTransitNamespace() error {
	name := h.TransitNamespace()
	created, err := ensureNamespace(name)
	if err != nil {
		return err
	}
	if created {
		h.log.Info("created transit namespace", "netns", name)
	}
	return withHandle(name, func(nh *netlink.Handle) error {
		if err := ensureLoopback(nh, netip.PrefixFrom(model.TransitGateway, 32)); err != nil {
			return fmt.Errorf("transit namespace: %w", err)
		}
		return nil
	})
}

// setSysctlIfPresent writes a /proc/sys value (key relative to /proc/sys) inside
// the named namespace unless it is set; present is false, and nothing is written,
// when the key does not exist there (its module is not loaded).
func setSysctlIfPresent(name, key, value string) (present bool, err error) {
	err = inNamespace(name, func() error {
		p := filepath.Join("/proc/sys", key)
		cur, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		present = true
		if err == nil && strings.TrimSpace(string(cur)) == value {
			return nil
		}
		if err := os.WriteFile(p, []byte(value+"\n"), 0o644); err != nil {
			return fmt.Errorf("setting %s: %w", key, err)
		}
		return nil
	})
	return present, err
}

// EnsureUp brings a link up unless it is (package backbone uses it too).
func EnsureUp(nh *netlink.Handle, l netlink.Link) error {
	if l.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := nh.LinkSetUp(l); err != nil {
		return fmt.Errorf("bringing %s up: %w", l.Attrs().Name, err)
	}
	return nil
}

// ensureOnlyAddr makes addr the only IPv4 address of a link.
func ensureOnlyAddr(nh *netlink.Handle, l netlink.Link, addr netip.Prefix) error {
	addrs, err := nh.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	found := false
	for _, a := range addrs {
		if prefixOf(a.IPNet) == addr {
			found = true
			continue
		}
		if err := nh.AddrDel(l, &netlink.Addr{IPNet: a.IPNet}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing %s from %s: %w", prefixOf(a.IPNet), l.Attrs().Name, err)
		}
	}
	if found {
		return nil
	}
	if err := nh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(addr.Addr(), addr.Bits())}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding %s to %s: %w", addr, l.Attrs().Name, err)
	}
	return nil
}

// ensureRoute adds or replaces route r on link l unless the link has a route
// to the same destination via the same gateway with the same flags.
func ensureRoute(nh *netlink.Handle, l netlink.Link, r *netlink.Route) error {
	routes, err := nh.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	for _, have := range routes {
		if prefixOf(have.Dst) == prefixOf(r.Dst) && have.Gw.Equal(r.Gw) && have.Flags&r.Flags == r.Flags {
			return nil
		}
	}
	if err := nh.RouteReplace(r); err != nil {
		return fmt.Errorf("route to %s on %s: %w", prefixOf(r.Dst), l.Attrs().Name, err)
	}
	return nil
}

// ensureOnlyDevRoute makes addr/32 dev l the only route without a gateway on
// link l (routes via a gateway on it, SetTransitRoutes's, are left alone).
func ensureOnlyDevRoute(nh *netlink.Handle, l netlink.Link, addr netip.Addr) error {
	routes, err := nh.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	want := netip.PrefixFrom(addr, 32)
	found := false
	for _, r := range routes {
		if r.Gw != nil {
			continue
		}
		if prefixOf(r.Dst) == want {
			found = true
			continue
		}
		if err := nh.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("removing the route to %s on %s: %w", prefixOf(r.Dst), l.Attrs().Name, err)
		}
	}
	if found {
		return nil
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(addr, 32), Scope: netlink.SCOPE_LINK}
	if err := nh.RouteReplace(r); err != nil {
		return fmt.Errorf("route to %s on %s: %w", want, l.Attrs().Name, err)
	}
	return nil
}

// prefixOf converts an address with a mask to a prefix (the invalid prefix for
// nil, which netlink reports for default routes).
func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	ip, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones)
}

// NamespaceFd opens the namespace of a VPC or instance (or, with TransitID, the
// transit namespace) for APIs that work in a namespace given by a descriptor,
// such as nftables.WithNetNSFd or netlink.NewHandleAt; release closes it (once,
// after the last use; the namespace itself stays until it is removed).
func (h *Host) NamespaceFd(id string) (fd int, release func(), err error) {
	ns, err := openNamespace(h.Namespace(id))
	if err != nil {
		return -1, nil, err
	}
	return int(ns), func() { ns.Close() }, nil
}
