package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"strait/internal/model"
	"strait/internal/store"
)

// parseCIDR reads an IPv4 CIDR, canonicalizes it (10.0.0.7/16 → 10.0.0.0/16) and
// checks that its prefix length is between min and max (rangeReason says what a
// length outside is: ReasonVpcRange or ReasonSubnetRange).
func parseCIDR(s string, minBits, maxBits int, rangeReason model.Reason) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, model.Invalid("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", s)
	}
	if p.Bits() < minBits || p.Bits() > maxBits {
		return netip.Prefix{}, model.WithReason(model.ErrInvalid, rangeReason, "The CIDR '%s' is invalid: the prefix length must be between /%d and /%d.", s, minBits, maxBits)
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

// ipPrefix is the store key prefix of a subnet's allocated addresses.
func ipPrefix(subnetID string) string { return model.KindIPAddress + "/" + subnetID + "/" }

// ipKey is the store key of an allocated address: the subnet's prefix and the
// address as eight hex digits, so that a subnet's addresses sort in numeric
// order.
func ipKey(subnetID string, n uint32) string {
	return fmt.Sprintf("%s%08x", ipPrefix(subnetID), n)
}

// ipOfKey reads the address back from an ipKey.
func ipOfKey(subnetID, k string) (uint32, bool) {
	hexd, ok := strings.CutPrefix(k, ipPrefix(subnetID))
	if !ok || len(hexd) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(hexd, 16, 32)
	return uint32(n), err == nil
}

// usedIPs is how many addresses of a subnet are allocated.
func usedIPs(sn model.Subnet) int { return sn.UsedCount + len(sn.Used) }

// ipInUse reports whether an address of the subnet is allocated, inside tx.
func ipInUse(tx *store.Tx, sn *model.Subnet, n uint32) bool {
	if _, ok := sn.Used[addr(n).String()]; ok {
		return true
	}
	return tx.Exists(ipKey(sn.ID, n))
}

// allocateIP allocates, inside tx, the lowest free unreserved address of a
// subnet, or a specific requested one after checking it, recording owner as its
// holder. sn is the subnet as read in tx; allocateIP updates its count and hint,
// and the caller writes it back in the same transaction, which is what makes two
// concurrent allocations in one subnet conflict.
func allocateIP(tx *store.Tx, sn *model.Subnet, owner, want string) (string, error) {
	p, err := netip.ParsePrefix(sn.CIDR)
	if err != nil {
		return "", err
	}
	if want != "" {
		ip, err := netip.ParseAddr(want)
		if err != nil || !ip.Is4() || !p.Contains(ip) {
			return "", model.Invalid("Address %s is not in subnet %s (%s)", want, sn.ID, sn.CIDR)
		}
		if reserved(p, ip) {
			return "", model.Invalid("Address %s is reserved in subnet %s (%s): the first four and the last address of a subnet are reserved", want, sn.ID, sn.CIDR)
		}
		if ipInUse(tx, sn, u32(ip)) {
			return "", model.WithReason(model.ErrInUse, model.ReasonAddressInUse, "Address %s is in use in subnet %s", want, sn.ID)
		}
		return want, holdIP(tx, sn, u32(ip), owner)
	}
	n, ok, err := lowestFreeIP(tx, sn, p)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", model.WithReason(model.ErrLimit, model.ReasonSubnetFull, "Subnet %s (%s) has no free addresses left", sn.ID, sn.CIDR)
	}
	sn.FreeFrom = addr(n + 1).String()
	return addr(n).String(), holdIP(tx, sn, n, owner)
}

// lowestFreeIP finds the lowest free unreserved address of a subnet: it scans the
// subnet's address records from the hint up to the first gap.
func lowestFreeIP(tx *store.Tx, sn *model.Subnet, p netip.Prefix) (uint32, bool, error) {
	base := u32(p.Addr())
	first, last := base+4, base+subnetSize(p)-2
	cand := first
	if h, err := netip.ParseAddr(sn.FreeFrom); err == nil && p.Contains(h) && u32(h) > cand {
		cand = u32(h)
	}
	skipLegacy := func() {
		for cand <= last {
			if _, ok := sn.Used[addr(cand).String()]; !ok {
				return
			}
			cand++
		}
	}
	skipLegacy()
	if cand > last {
		return 0, false, nil
	}
	err := tx.Scan(ipPrefix(sn.ID), ipKey(sn.ID, cand), func(k string, _ []byte) (bool, error) {
		n, ok := ipOfKey(sn.ID, k)
		if !ok || n < cand {
			return true, nil
		}
		if n > cand {
			return false, nil // cand has no record: it is free
		}
		cand++
		skipLegacy()
		return cand <= last, nil
	})
	if err != nil {
		return 0, false, err
	}
	return cand, cand <= last, nil
}

// holdIP records an address of the subnet as allocated to owner.
func holdIP(tx *store.Tx, sn *model.Subnet, n uint32, owner string) error {
	sn.UsedCount++
	return tx.Put(ipKey(sn.ID, n), model.IPAddress{IP: addr(n).String(), Owner: owner})
}

// releaseIP frees an address of a subnet inside tx (an address that is not
// allocated is left alone); the caller writes sn back.
func releaseIP(tx *store.Tx, sn *model.Subnet, ip string) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return
	}
	n := u32(a)
	switch _, legacy := sn.Used[ip]; {
	case legacy:
		delete(sn.Used, ip)
	case tx.Exists(ipKey(sn.ID, n)):
		tx.Delete(ipKey(sn.ID, n))
		sn.UsedCount--
	default:
		return
	}
	if h, err := netip.ParseAddr(sn.FreeFrom); err == nil && n < u32(h) {
		sn.FreeFrom = ip
	}
}

// legacyMovesPerTx bounds how many addresses of an earlier version's Used map
// one transaction moves into address records (each is a write of the
// transaction; etcd bounds their number).
const legacyMovesPerTx = 64

// moveLegacyIPs moves up to legacyMovesPerTx addresses of the subnet's Used map
// (written by an earlier version) into address records, lowest first, inside
// tx; the caller writes sn back.
func moveLegacyIPs(tx *store.Tx, sn *model.Subnet) error {
	if len(sn.Used) == 0 {
		return nil
	}
	ips := make([]netip.Addr, 0, len(sn.Used))
	for s := range sn.Used {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			ips = append(ips, a)
		} else {
			delete(sn.Used, s) // not an address: nothing can hold it
		}
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	for _, a := range ips[:min(len(ips), legacyMovesPerTx)] {
		owner := sn.Used[a.String()]
		delete(sn.Used, a.String())
		if tx.Exists(ipKey(sn.ID, u32(a))) {
			continue // already recorded (cannot happen unless written twice): count it once
		}
		if err := holdIP(tx, sn, u32(a), owner); err != nil {
			return err
		}
	}
	if len(sn.Used) == 0 {
		sn.Used = nil
	}
	return nil
}

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
