package backbone

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strait/internal/agent/netns"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linkName is the name of the VXLAN device in a VPC's or the transit namespace.
const linkName = "backbone"

// vxlanPort is VXLAN's UDP port (IANA).
const vxlanPort = 4789

// deviceMAC is the MAC address of a host's VXLAN device for a VNI: the same on
// every host that computes it, locally administered, unicast.
func deviceMAC(hostID string, vni uint32) net.HardwareAddr {
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], vni)
	sum := sha256.Sum256(append(append([]byte("strait backbone mac\x00"), v[:]...), hostID...))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// vxlanSpec is how a VXLAN device should be.
type vxlanSpec struct {
	vni   uint32
	mac   net.HardwareAddr
	local netip.Addr // this host's endpoint
	mtu   int
}

// linkState is what a VXLAN device should carry: routes (destination →
// gateway, or the invalid address for a route straight onto the link),
// permanent neighbour entries (address → a peer's device MAC) and FDB entries
// (a peer's device MAC → its endpoint).
type linkState struct {
	routes map[netip.Prefix]netip.Addr
	neigh  map[netip.Addr]net.HardwareAddr
	fdb    map[string]netip.Addr // MAC in text form → endpoint
}

func newLinkState() linkState {
	return linkState{routes: map[netip.Prefix]netip.Addr{}, neigh: map[netip.Addr]net.HardwareAddr{}, fdb: map[string]netip.Addr{}}
}

// ensureVXLAN makes the namespace's "backbone" device a VXLAN as spec says, up,
// and returns it. A device that differs is replaced; a new one is created from
// the host namespace (so its UDP socket lives there) straight into the target.
func ensureVXLAN(hostNH *netlink.Handle, ns vnetns.NsHandle, nh *netlink.Handle, spec vxlanSpec) (netlink.Link, error) {
	l, err := nh.LinkByName(linkName)
	switch {
	case errors.As(err, new(netlink.LinkNotFoundError)):
	case err != nil:
		return nil, err
	case matches(l, spec):
		return l, netns.EnsureUp(nh, l)
	default:
		if err := nh.LinkDel(l); err != nil {
			return nil, fmt.Errorf("replacing %s: %w", linkName, err)
		}
	}
	vx := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: linkName, MTU: spec.mtu, HardwareAddr: spec.mac, Namespace: netlink.NsFd(int(ns))},
		VxlanId:   int(spec.vni),
		SrcAddr:   spec.local.AsSlice(),
		Port:      vxlanPort,
		Learning:  false,
	}
	if err := hostNH.LinkAdd(vx); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating VXLAN %d: the host already has a VXLAN with this VNI (%w)", spec.vni, err)
		}
		return nil, fmt.Errorf("creating VXLAN %d: %w", spec.vni, err)
	}
	if l, err = nh.LinkByName(linkName); err != nil {
		return nil, err
	}
	return l, netns.EnsureUp(nh, l)
}

// matches reports whether an existing link is the VXLAN spec describes.
func matches(l netlink.Link, spec vxlanSpec) bool {
	vx, ok := l.(*netlink.Vxlan)
	if !ok {
		return false
	}
	local, _ := netip.AddrFromSlice(vx.SrcAddr)
	return uint32(vx.VxlanId) == spec.vni && local.Unmap() == spec.local && vx.Port == vxlanPort && !vx.Learning &&
		bytes.Equal(vx.Attrs().HardwareAddr, spec.mac) && vx.Attrs().MTU == spec.mtu
}

// syncLink makes the link's IPv4 routes (main table), IPv4 neighbour entries
// and FDB entries exactly want, changing only what differs.
func syncLink(nh *netlink.Handle, l netlink.Link, want linkState) error {
	idx := l.Attrs().Index
	var errs []error
	// FDB first, neighbours next, routes last: a route never points at a
	// next hop that has nowhere to go.
	fdb, err := nh.NeighList(idx, unix.AF_BRIDGE)
	if err != nil {
		return fmt.Errorf("listing the FDB of %s: %w", linkName, err)
	}
	have := map[string]bool{}
	for _, n := range fdb {
		dst, _ := netip.AddrFromSlice(n.IP)
		if w, ok := want.fdb[n.HardwareAddr.String()]; ok && w == dst.Unmap() && n.State&netlink.NUD_PERMANENT != 0 {
			have[n.HardwareAddr.String()] = true
			continue
		}
		if err := nh.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("removing FDB entry %s: %w", n.HardwareAddr, err))
		}
	}
	for mac, dst := range want.fdb {
		if have[mac] {
			continue
		}
		hw, _ := net.ParseMAC(mac)
		n := &netlink.Neigh{LinkIndex: idx, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF, State: netlink.NUD_PERMANENT, HardwareAddr: hw, IP: dst.AsSlice()}
		if err := nh.NeighSet(n); err != nil {
			errs = append(errs, fmt.Errorf("FDB entry %s → %s: %w", mac, dst, err))
		}
	}
	neighs, err := nh.NeighList(idx, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing the neighbours on %s: %w", linkName, err)
	}
	haveN := map[netip.Addr]bool{}
	for _, n := range neighs {
		ip, _ := netip.AddrFromSlice(n.IP)
		ip = ip.Unmap()
		if w, ok := want.neigh[ip]; ok && bytes.Equal(w, n.HardwareAddr) && n.State&netlink.NUD_PERMANENT != 0 {
			haveN[ip] = true
			continue
		}
		if err := nh.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("removing neighbour %s: %w", ip, err))
		}
	}
	for ip, mac := range want.neigh {
		if haveN[ip] {
			continue
		}
		n := &netlink.Neigh{LinkIndex: idx, Family: unix.AF_INET, State: netlink.NUD_PERMANENT, IP: ip.AsSlice(), HardwareAddr: mac}
		if err := nh.NeighSet(n); err != nil {
			errs = append(errs, fmt.Errorf("neighbour %s: %w", ip, err))
		}
	}
	routes, err := nh.RouteList(l, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing the routes on %s: %w", linkName, err)
	}
	haveR := map[netip.Prefix]bool{}
	for _, r := range routes {
		dst := prefixOf(r.Dst)
		gw, _ := netip.AddrFromSlice(r.Gw)
		if w, ok := want.routes[dst]; ok && w == gw.Unmap() {
			haveR[dst] = true
			continue
		}
		if err := nh.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("removing the route to %s: %w", dst, err))
		}
	}
	for dst, gw := range want.routes {
		if haveR[dst] {
			continue
		}
		r := &netlink.Route{LinkIndex: idx, Dst: &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)}}
		if gw.IsValid() {
			r.Gw = gw.AsSlice()
			r.Flags = int(netlink.FLAG_ONLINK)
		} else {
			r.Scope = netlink.SCOPE_LINK
		}
		if err := nh.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("route to %s: %w", dst, err))
		}
	}
	return errors.Join(errs...)
}

// prefixOf converts a route destination to a prefix (0.0.0.0/0 for nil).
func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	ip, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones)
}
