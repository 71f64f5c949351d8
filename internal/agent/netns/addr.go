package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Gateway is a subnet's router address (its base + 1), as in AWS.
func Gateway(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// Resolver is the address of a VPC's DNS resolver (its CIDR base + 2), as in AWS.
func Resolver(vpc netip.Prefix) netip.Addr { return vpc.Masked().Addr().Next().Next() }

// ipNet converts an address with a prefix length to the net package's form.
func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

// findSubnet finds a subnet of v by ID.
func findSubnet(v VPC, id string) (Subnet, error) {
	for _, s := range v.Subnets {
		if s.ID == id {
			return s, nil
		}
	}
	return Subnet{}, fmt.Errorf("subnet %s is not in %s", id, v.ID)
}

// searchDomain is the DNS search domain of instances in a zone: ec2.internal in
// us-east-1, <region>.compute.internal elsewhere, "" when the zone is not a
// regional zone name.
func searchDomain(az string) string {
	parts := strings.SplitN(az, "-", 4)
	if len(parts) < 3 {
		return ""
	}
	num := strings.TrimRight(parts[2], "abcdefghijklmnopqrstuvwxyz")
	if num == "" || num == parts[2] && len(parts) == 3 {
		return ""
	}
	region := parts[0] + "-" + parts[1] + "-" + num
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}

// SetAddresses makes exactly the given ENI addresses exist as /32 addresses on their
// subnets' bridges in the VPC's namespace: missing ones are added, other /32
// addresses on the bridges removed. Gateway and resolver addresses are never
// touched. Every ENI's subnet must be in v and its bridge exist (EnsureVPC first).
func (h *Host) SetAddresses(vpcID string, enis []ENI, v VPC) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	want := map[string]map[netip.Addr]bool{} // bridge → addresses
	for _, s := range v.Subnets {
		want[bridgeName(s.ID)] = map[netip.Addr]bool{}
	}
	for _, e := range enis {
		s, err := eniSubnet(v, e)
		if err != nil {
			return err
		}
		want[bridgeName(s.ID)][e.IP] = true
	}
	return withHandle(h.Namespace(vpcID), func(nh *netlink.Handle) error {
		links, err := nh.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Type() != "bridge" {
				continue
			}
			br := l.Attrs().Name
			addrs, err := nh.AddrList(l, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			have := map[netip.Addr]bool{}
			for _, a := range addrs {
				ip, _ := netip.AddrFromSlice(a.IP)
				ip = ip.Unmap()
				if ones, _ := a.Mask.Size(); ones != 32 {
					continue // the gateway
				}
				if want[br][ip] {
					have[ip] = true
					continue
				}
				if err := nh.AddrDel(l, &netlink.Addr{IPNet: a.IPNet}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
					return fmt.Errorf("removing %s from %s: %w", ip, br, err)
				}
			}
			for ip := range want[br] {
				if have[ip] {
					continue
				}
				if err := nh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(ip, 32)}); err != nil && !errors.Is(err, unix.EEXIST) {
					return fmt.Errorf("adding %s to %s: %w", ip, br, err)
				}
			}
			delete(want, br)
		}
		for br, addrs := range want {
			if len(addrs) > 0 {
				return fmt.Errorf("%s: no bridge %s for the ENIs of its subnet (EnsureVPC first)", vpcID, br)
			}
		}
		return nil
	})
}

// ChangeAddresses adds and removes ENI addresses on their subnets' bridges in the
// VPC's namespace, leaving the others alone: what SetAddresses does for a VPC
// whose addresses were set before, at the cost of the change only. Adding an
// address that exists and removing one that does not are no errors.
func (h *Host) ChangeAddresses(vpcID string, add, remove []ENI, v VPC) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range add {
		if _, err := eniSubnet(v, e); err != nil {
			return err
		}
	}
	return withHandle(h.Namespace(vpcID), func(nh *netlink.Handle) error {
		bridges := map[string]netlink.Link{}
		bridge := func(subnetID string) (netlink.Link, error) {
			name := bridgeName(subnetID)
			if l, ok := bridges[name]; ok {
				return l, nil
			}
			l, err := nh.LinkByName(name)
			if err != nil {
				return nil, fmt.Errorf("%s: bridge of %s: %w (EnsureVPC first)", vpcID, subnetID, err)
			}
			bridges[name] = l
			return l, nil
		}
		for _, e := range remove {
			l, err := bridge(e.SubnetID)
			if err != nil {
				if errors.As(err, new(netlink.LinkNotFoundError)) {
					continue // its subnet is gone, and the address with it
				}
				return err
			}
			if err := nh.AddrDel(l, &netlink.Addr{IPNet: ipNet(e.IP, 32)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
				return fmt.Errorf("removing %s from %s: %w", e.IP, l.Attrs().Name, err)
			}
		}
		for _, e := range add {
			l, err := bridge(e.SubnetID)
			if err != nil {
				return err
			}
			if err := nh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(e.IP, 32)}); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("adding %s to %s: %w", e.IP, l.Attrs().Name, err)
			}
		}
		return nil
	})
}

// eniSubnet returns the subnet of v an ENI's address goes on, after checking
// that the address is an IPv4 address of that subnet and not the VPC router's
// (gateway or resolver).
func eniSubnet(v VPC, e ENI) (Subnet, error) {
	s, err := findSubnet(v, e.SubnetID)
	if err != nil {
		return Subnet{}, fmt.Errorf("ENI %s: %w", e.ID, err)
	}
	if !e.IP.Is4() || !s.CIDR.Contains(e.IP) {
		return Subnet{}, fmt.Errorf("ENI %s: address %s is not an IPv4 address of %s (%s)", e.ID, e.IP, s.ID, s.CIDR)
	}
	if e.IP == Gateway(s.CIDR) || e.IP == Resolver(v.CIDR) {
		return Subnet{}, fmt.Errorf("ENI %s: address %s is reserved for the VPC router", e.ID, e.IP)
	}
	return s, nil
}
