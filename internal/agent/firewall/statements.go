package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// groupRules turns security group rules into accepting nft rules matching the
// peer's source address (or, with dst, its destination), sorted and without
// duplicates; a rule nft cannot express becomes a comment.
func groupRules(rules []Rule, dst bool) []nftRule {
	out := make([]nftRule, 0, len(rules))
	for _, r := range rules {
		if nr, ok := groupRule(r, dst); ok {
			out = append(out, nr)
		}
	}
	return sortedRules(out)
}

// groupRule turns one rule into an nft rule; ok is false when it matches
// nothing (no IPv4 prefix). A rule of a group matches the group's set, whatever
// its members.
func groupRule(r Rule, dst bool) (nr nftRule, ok bool) {
	proto, kind := protoMatch(r)
	switch kind {
	case invalidProto:
		return nftRule{skipped: fmt.Sprintf("skipped: protocol %q from %d to %d", r.Protocol, r.FromPort, r.ToPort)}, true
	case ipv6Proto:
		return nftRule{}, false
	}
	peers := ipv4Prefixes(r.Prefixes)
	var matches []match
	switch {
	case r.Group != "":
		matches = append(matches, addrMatch{dst: dst, set: setName(r.Group)})
	case len(peers) == 0:
		return nftRule{}, false
	case len(peers) == 1 && peers[0].Bits() == 0:
		if proto == nil {
			matches = append(matches, anyIPv4{})
		}
	default:
		matches = append(matches, addrMatch{dst: dst, prefixes: peers})
	}
	if proto != nil {
		matches = append(matches, proto)
	}
	return nftRule{matches: matches, verdict: acceptVerdict}, true
}

// protoKind tells a rule's protocol apart: one nft filters, one only IPv6 has,
// or an invalid one.
type protoKind int

const (
	ipv4Proto protoKind = iota
	ipv6Proto
	invalidProto
)

// protoMatch matches a rule's protocol and ports: nil for any IPv4 traffic.
func protoMatch(r Rule) (match, protoKind) {
	proto := strings.ToLower(r.Protocol)
	switch proto {
	case "all", "-1", "":
		return nil, ipv4Proto
	case "tcp", "6":
		return portMatch(6, r.FromPort, r.ToPort)
	case "udp", "17":
		return portMatch(17, r.FromPort, r.ToPort)
	case "icmp", "1":
		switch {
		case r.FromPort < 0:
			return l4proto{1}, ipv4Proto
		case r.FromPort > 255 || r.ToPort > 255:
			return nil, invalidProto
		case r.ToPort < 0:
			return icmpType{typ: int(r.FromPort), code: -1}, ipv4Proto
		default:
			return icmpType{typ: int(r.FromPort), code: int(r.ToPort)}, ipv4Proto
		}
	case "icmpv6", "58":
		return nil, ipv6Proto
	}
	n, err := strconv.Atoi(proto)
	if err != nil || n < 0 || n > 255 {
		return nil, invalidProto
	}
	return l4proto{uint8(n)}, ipv4Proto
}

// portMatch matches a TCP or UDP destination port range; -1 (or 0-65535) is any.
func portMatch(proto uint8, from, to int32) (match, protoKind) {
	switch {
	case from < 0 || from == 0 && to >= 65535:
		return l4proto{proto}, ipv4Proto
	case to < from || to > 65535:
		return nil, invalidProto
	}
	return dport{proto: proto, from: uint16(from), to: uint16(to)}, ipv4Proto
}

// ipv4Prefixes keeps the IPv4 prefixes, masked, sorted, without those contained in
// another (nft rejects overlapping set elements).
func ipv4Prefixes(in []netip.Prefix) []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range in {
		if p.IsValid() && p.Addr().Is4() {
			ps = append(ps, p.Masked())
		}
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Bits() - b.Bits(); c != 0 {
			return c
		}
		return a.Addr().Compare(b.Addr())
	})
	var out []netip.Prefix
	for _, p := range ps {
		covered := false
		for _, q := range out {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// prefixString writes a host prefix as its address.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
