package netns

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vpcSysctls make a VPC namespace a router that accepts asymmetric paths.
var vpcSysctls = [][2]string{
	{"net/ipv4/ip_forward", "1"},
	{"net/ipv4/conf/all/rp_filter", "0"},
	{"net/ipv4/conf/default/rp_filter", "0"},
}

// EnsureVPC makes the VPC's namespace exist as its router: loopback up, forwarding
// on, reverse-path filtering off, the resolver address (CIDR base + 2) as a /32 on
// lo, and one bridge per subnet (named "b" + 12 hex digits of the subnet ID) holding
// the subnet's gateway address (base + 1) with the subnet's prefix. Bridges of
// subnets no longer listed are removed. Idempotent. created reports whether the
// namespace was made new (nothing made in an earlier one, such as its firewall,
// is in it).
func (h *Host) EnsureVPC(v VPC) (created bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !v.CIDR.Addr().Is4() {
		return false, fmt.Errorf("%s: only IPv4 VPC CIDRs are supported, got %s", v.ID, v.CIDR)
	}
	name := h.Namespace(v.ID)
	created, err = ensureNamespace(name)
	if err != nil {
		return false, err
	}
	if created {
		h.log.Info("created VPC namespace", "vpc", v.ID, "netns", name)
	}
	if err := setSysctls(name, vpcSysctls); err != nil {
		return created, fmt.Errorf("%s: %w", v.ID, err)
	}
	return created, withHandle(name, func(nh *netlink.Handle) error {
		if err := ensureLoopback(nh, netip.PrefixFrom(Resolver(v.CIDR), 32)); err != nil {
			return fmt.Errorf("%s: %w", v.ID, err)
		}
		want := map[string]bool{}
		for _, s := range v.Subnets {
			if !s.CIDR.Addr().Is4() {
				return fmt.Errorf("%s: only IPv4 subnets are supported, got %s", s.ID, s.CIDR)
			}
			br := bridgeName(s.ID)
			want[br] = true
			if err := ensureBridge(nh, br, bridgeMAC(s.ID), netip.PrefixFrom(Gateway(s.CIDR), s.CIDR.Bits())); err != nil {
				return fmt.Errorf("%s: bridge of %s: %w", v.ID, s.ID, err)
			}
		}
		links, err := nh.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Type() == "bridge" && !want[l.Attrs().Name] {
				if err := nh.LinkDel(l); err != nil {
					return fmt.Errorf("%s: removing bridge %s: %w", v.ID, l.Attrs().Name, err)
				}
				h.log.Info("removed subnet bridge", "vpc", v.ID, "bridge", l.Attrs().Name)
			}
		}
		return nil
	})
}

// RemoveVPC ends every process in the VPC's namespace, deletes its interfaces
// (its link to the transit namespace too, and with it the transit routes via the
// VPC) and the namespace. Sockets still open in it (listeners of this process) keep an empty
// namespace alive until they are closed. Removing a VPC that does not exist is not
// an error.
func (h *Host) RemoveVPC(id string) error { return h.remove("vpc", id) }

// remove deletes the namespace of a VPC or instance (kind names it in the log),
// its processes and /etc/netns entry, and closes its spare sockets.
func (h *Host) remove(kind, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := h.Namespace(id)
	h.spares.drop(name)
	if err := removeNamespace(name); err != nil {
		return fmt.Errorf("removing %s: %w", id, err)
	}
	h.log.Info("removed namespace", kind, id, "netns", name)
	return nil
}

// withHandle runs fn with a netlink handle inside the named namespace.
func withHandle(name string, fn func(*netlink.Handle) error) error {
	ns, err := openNamespace(name)
	if err != nil {
		return err
	}
	defer ns.Close()
	return withHandleAt(ns, fn)
}

func withHandleAt(ns vnetns.NsHandle, fn func(*netlink.Handle) error) error {
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	return fn(nh)
}

// ensureLoopback brings lo up and, when addr is valid, makes sure it holds addr.
func ensureLoopback(nh *netlink.Handle, addr netip.Prefix) error {
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return err
	}
	if lo.Attrs().Flags&net.FlagUp == 0 {
		if err := nh.LinkSetUp(lo); err != nil {
			return fmt.Errorf("bringing lo up: %w", err)
		}
	}
	if !addr.IsValid() {
		return nil
	}
	return ensureAddr(nh, lo, addr, false)
}

// ensureBridge makes a bridge exist and be up with a fixed MAC address (so that
// instances' ARP entries stay valid as ports come and go) and gateway address.
func ensureBridge(nh *netlink.Handle, name string, mac net.HardwareAddr, gw netip.Prefix) error {
	l, err := nh.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if !errors.As(err, &notFound) {
			return err
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac}}
		if err := nh.LinkAdd(br); err != nil {
			return fmt.Errorf("creating: %w", err)
		}
		if l, err = nh.LinkByName(name); err != nil {
			return err
		}
	}
	if l.Type() != "bridge" {
		return fmt.Errorf("%s exists and is a %s, not a bridge", name, l.Type())
	}
	if err := ensureAddr(nh, l, gw, true); err != nil {
		return err
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := nh.LinkSetUp(l); err != nil {
			return fmt.Errorf("bringing up: %w", err)
		}
	}
	return nil
}

// ensureAddr adds addr to link unless it is there. With exclusive, the link's other
// IPv4 addresses of other than /32 length (not ENI addresses) are removed.
func ensureAddr(nh *netlink.Handle, l netlink.Link, addr netip.Prefix, exclusive bool) error {
	addrs, err := nh.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	found := false
	for _, a := range addrs {
		p := prefixOf(a.IPNet)
		switch {
		case p == addr:
			found = true
		case exclusive && p.Bits() != 32:
			if err := nh.AddrDel(l, &netlink.Addr{IPNet: a.IPNet}); err != nil {
				return fmt.Errorf("removing %s from %s: %w", p, l.Attrs().Name, err)
			}
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

// bridgeMAC is a stable, locally administered MAC address for a subnet's bridge.
func bridgeMAC(subnetID string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("strait-bridge/" + subnetID))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	return mac
}

// removeNamespace ends the processes of a namespace, deletes its interfaces (so that
// nothing stays wired if something keeps the namespace alive), the namespace and its
// /etc/netns directory.
func removeNamespace(name string) error {
	if nsExists(name) {
		if err := killNamespace(name); err != nil {
			return err
		}
		err := withHandle(name, func(nh *netlink.Handle) error {
			links, err := nh.LinkList()
			if err != nil {
				return err
			}
			for _, l := range links {
				if l.Attrs().Name == "lo" {
					continue
				}
				if err := nh.LinkDel(l); err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) && !errors.Is(err, unix.ENODEV) {
					return fmt.Errorf("deleting %s: %w", l.Attrs().Name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := deleteNamespace(name); err != nil {
		return err
	}
	if !strings.ContainsRune(name, '/') && name != "" {
		if err := removeEtcDir(name); err != nil {
			return err
		}
	}
	return nil
}
