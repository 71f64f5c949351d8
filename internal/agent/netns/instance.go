package netns

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// instanceIface is the name of an instance's interface inside its namespace.
const instanceIface = "eth0"

// hostsFile is the /etc/hosts of instances.
const hostsFile = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

// EnsureInstance makes the instance's namespace exist, wired into its subnet: lo up;
// a veth pair "eth0" (in the instance) ↔ "v" + 12 hex digits of the instance ID (in
// the VPC namespace, attached to the subnet's bridge); the instance's address with
// the subnet's prefix on eth0; a default route via the subnet's gateway; and
// /etc/netns/<namespace>/resolv.conf (the VPC resolver, the zone's search domain)
// and hosts. What is already right is left alone, so processes running in an
// existing namespace are not disturbed. The VPC's namespace must exist (EnsureVPC).
// created reports whether the instance's namespace was made new.
func (h *Host) EnsureInstance(i Instance, v VPC) (created bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i.VpcID != "" && i.VpcID != v.ID {
		return false, fmt.Errorf("instance %s is in %s, not %s", i.ID, i.VpcID, v.ID)
	}
	s, err := findSubnet(v, i.SubnetID)
	if err != nil {
		return false, fmt.Errorf("instance %s: %w", i.ID, err)
	}
	if !i.IP.Is4() || !s.CIDR.Contains(i.IP) {
		return false, fmt.Errorf("instance %s: address %s is not an IPv4 address of %s (%s)", i.ID, i.IP, s.ID, s.CIDR)
	}
	vpcNS, err := openNamespace(h.Namespace(v.ID))
	if err != nil {
		return false, fmt.Errorf("instance %s: %w (EnsureVPC first)", i.ID, err)
	}
	defer vpcNS.Close()
	name := h.Namespace(i.ID)
	created, err = ensureNamespace(name)
	if err != nil {
		return false, err
	}
	if created {
		h.log.Info("created instance namespace", "instance", i.ID, "netns", name)
	}
	instNS, err := openNamespace(name)
	if err != nil {
		return created, err
	}
	defer instNS.Close()
	if err := writeInstanceFiles(name, Resolver(v.CIDR), searchDomain(s.AZ)); err != nil {
		return created, fmt.Errorf("instance %s: %w", i.ID, err)
	}
	return created, withHandleAt(vpcNS, func(vh *netlink.Handle) error {
		return withHandleAt(instNS, func(ih *netlink.Handle) error {
			if err := ensureLoopback(ih, netip.Prefix{}); err != nil {
				return fmt.Errorf("instance %s: %w", i.ID, err)
			}
			br, err := vh.LinkByName(bridgeName(s.ID))
			if err != nil {
				return fmt.Errorf("instance %s: bridge of %s: %w (EnsureVPC first)", i.ID, s.ID, err)
			}
			outer, eth0, err := ensureVeth(vh, ih, vethName(i.ID), instanceIface, int(instNS))
			if err != nil {
				return fmt.Errorf("instance %s: %w", i.ID, err)
			}
			if outer.Attrs().MasterIndex != br.Attrs().Index {
				if err := vh.LinkSetMasterByIndex(outer, br.Attrs().Index); err != nil {
					return fmt.Errorf("instance %s: attaching %s to %s: %w", i.ID, outer.Attrs().Name, br.Attrs().Name, err)
				}
			}
			for _, l := range []struct {
				h *netlink.Handle
				l netlink.Link
			}{{vh, outer}, {ih, eth0}} {
				if l.l.Attrs().Flags&net.FlagUp == 0 {
					if err := l.h.LinkSetUp(l.l); err != nil {
						return fmt.Errorf("instance %s: bringing %s up: %w", i.ID, l.l.Attrs().Name, err)
					}
				}
			}
			if err := ensureAddr(ih, eth0, netip.PrefixFrom(i.IP, s.CIDR.Bits()), true); err != nil {
				return fmt.Errorf("instance %s: %w", i.ID, err)
			}
			return ensureDefaultRoute(ih, eth0, Gateway(s.CIDR))
		})
	})
}

// ensureVeth returns the two ends of a veth pair, outerName in the namespace of
// oh and innerName in that of ih (whose descriptor is innerNSFd), creating the
// pair when either end is missing or they are not each other's peer.
func ensureVeth(oh, ih *netlink.Handle, outerName, innerName string, innerNSFd int) (outer, inner netlink.Link, err error) {
	outer, oerr := oh.LinkByName(outerName)
	inner, ierr := ih.LinkByName(innerName)
	if oerr == nil && ierr == nil && outer.Type() == "veth" && inner.Type() == "veth" &&
		outer.Attrs().ParentIndex == inner.Attrs().Index && inner.Attrs().ParentIndex == outer.Attrs().Index {
		return outer, inner, nil
	}
	// Rewire: remove what is left of an old pair.
	if oerr == nil {
		if err := oh.LinkDel(outer); err != nil && !errors.Is(err, unix.ENODEV) {
			return nil, nil, fmt.Errorf("removing stale %s: %w", outerName, err)
		}
	}
	if inner, ierr = ih.LinkByName(innerName); ierr == nil {
		if err := ih.LinkDel(inner); err != nil && !errors.Is(err, unix.ENODEV) {
			return nil, nil, fmt.Errorf("removing stale %s: %w", innerName, err)
		}
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: outerName},
		PeerName:      innerName,
		PeerNamespace: netlink.NsFd(innerNSFd),
	}
	if err := oh.LinkAdd(veth); err != nil {
		return nil, nil, fmt.Errorf("creating veth %s: %w", outerName, err)
	}
	if outer, err = oh.LinkByName(outerName); err != nil {
		return nil, nil, err
	}
	if inner, err = ih.LinkByName(innerName); err != nil {
		return nil, nil, err
	}
	return outer, inner, nil
}

// ensureDefaultRoute makes the default route go via gw on link.
func ensureDefaultRoute(nh *netlink.Handle, l netlink.Link, gw netip.Addr) error {
	routes, err := nh.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) && r.Gw.Equal(gw.AsSlice()) {
			return nil
		}
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice(), Dst: ipNet(netip.IPv4Unspecified(), 0)}
	if err := nh.RouteReplace(r); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

// RemoveInstance ends every process in the instance's namespace (SIGTERM, then
// SIGKILL after 2 s), deletes its interface, the namespace and
// /etc/netns/<namespace>. Removing an instance that does not exist is not an error.
func (h *Host) RemoveInstance(id string) error { return h.remove("instance", id) }

// writeInstanceFiles writes /etc/netns/<name>/resolv.conf and hosts, which
// `ip netns exec` mounts over /etc/resolv.conf and /etc/hosts. Files are rewritten
// in place, and only when they differ, so running programs see the change.
func writeInstanceFiles(name string, resolver netip.Addr, search string) error {
	dir := filepath.Join(netnsEtcDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	resolv := "nameserver " + resolver.String() + "\n"
	if search != "" {
		resolv += "search " + search + "\n"
	}
	for file, content := range map[string]string{"resolv.conf": resolv, "hosts": hostsFile} {
		p := filepath.Join(dir, file)
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, []byte(content)) {
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// removeEtcDir removes /etc/netns/<name>.
func removeEtcDir(name string) error {
	err := os.RemoveAll(filepath.Join(netnsEtcDir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
