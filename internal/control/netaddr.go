package control

import (
	"encoding/binary"
	"net/netip"

	"strait/internal/model"
)

// parseCIDR reads an IPv4 CIDR, canonicalizes it (10.0.0.7/16 → 10.0.0.0/16) and
// checks that its prefix length is between min and max.
func parseCIDR(s string, minBits, maxBits int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, model.Coded(model.ErrInvalid, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", s)
	}
	if p.Bits() < minBits || p.Bits() > maxBits {
		return netip.Prefix{}, model.Coded(model.ErrInvalid, "InvalidParameterValue", "The CIDR '%s' is invalid: the prefix length must be between /%d and /%d.", s, minBits, maxBits)
	}
	return p.Masked(), nil
}

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func addr(n uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// subnetSize is the number of addresses in an IPv4 prefix.
func subnetSize(p netip.Prefix) uint32 { return 1 << (32 - p.Bits()) }

// usableCount is how many addresses of a subnet can be handed out: AWS reserves the
// network address, the next three (router, DNS, future use) and the broadcast address.
func usableCount(p netip.Prefix) int { return int(subnetSize(p)) - 5 }

// reserved reports whether ip is one of a subnet's five reserved addresses.
func reserved(p netip.Prefix, ip netip.Addr) bool {
	off := u32(ip) - u32(p.Addr())
	return off < 4 || off == subnetSize(p)-1
}

// allocateIP returns the lowest free, unreserved address of a subnet, or a specific
// requested one after checking it.
func allocateIP(sn *model.Subnet, owner, want string) (string, error) {
	p, err := netip.ParsePrefix(sn.CIDR)
	if err != nil {
		return "", err
	}
	if sn.Used == nil {
		sn.Used = map[string]string{}
	}
	if want != "" {
		ip, err := netip.ParseAddr(want)
		if err != nil || !ip.Is4() || !p.Contains(ip) {
			return "", model.Coded(model.ErrInvalid, "InvalidParameterValue", "Address %s is not in subnet %s (%s)", want, sn.ID, sn.CIDR)
		}
		if reserved(p, ip) {
			return "", model.Coded(model.ErrInvalid, "InvalidParameterValue", "Address %s is reserved in subnet %s (%s): the first four and the last address of a subnet are reserved", want, sn.ID, sn.CIDR)
		}
		if _, used := sn.Used[want]; used {
			return "", model.Coded(model.ErrInUse, "InvalidIPAddress.InUse", "Address %s is in use in subnet %s", want, sn.ID)
		}
		sn.Used[want] = owner
		return want, nil
	}
	base, size := u32(p.Addr()), subnetSize(p)
	for off := uint32(4); off < size-1; off++ {
		ip := addr(base + off).String()
		if _, used := sn.Used[ip]; !used {
			sn.Used[ip] = owner
			return ip, nil
		}
	}
	return "", model.Coded(model.ErrLimit, "InsufficientFreeAddressesInSubnet", "Subnet %s (%s) has no free addresses left", sn.ID, sn.CIDR)
}

// releaseIP frees an address of a subnet.
func releaseIP(sn *model.Subnet, ip string) { delete(sn.Used, ip) }

// overlaps reports whether two prefixes share any address.
func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// macFor derives a stable locally administered MAC address from an ENI ID.
func macFor(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return netipMAC(h)
}

func netipMAC(h uint32) string {
	const hexd = "0123456789abcdef"
	b := []byte{0x02, byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), byte(h>>4) ^ 0x5a}
	out := make([]byte, 0, 17)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}
