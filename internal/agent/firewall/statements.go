package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ruleLines renders rules as nft statements matching the peer address with dir
// ("saddr" or "daddr"), sorted and without duplicates; a rule nft cannot express
// becomes a comment.
func ruleLines(rules []Rule, dir string) []string {
	lines := make([]string, 0, len(rules))
	for _, r := range rules {
		lines = append(lines, ruleLine(r, dir))
	}
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines) // all rules accept: their order does not matter
	return slices.Compact(lines)
}

// ruleLine renders one rule, "" when it matches nothing (no IPv4 prefix). A rule
// of a group matches the group's set, whatever its members.
func ruleLine(r Rule, dir string) string {
	match, ok := protoMatch(r)
	if !ok {
		return fmt.Sprintf("# skipped: protocol %q from %d to %d", r.Protocol, r.FromPort, r.ToPort)
	}
	if match == "-" {
		return "" // IPv6-only protocol
	}
	peers := ipv4Prefixes(r.Prefixes)
	var parts []string
	switch {
	case r.Group != "":
		parts = append(parts, "ip "+dir+" @"+setName(r.Group))
	case len(peers) == 0:
		return ""
	case len(peers) == 1 && peers[0].Bits() == 0:
		if match == "" {
			parts = append(parts, "meta nfproto ipv4")
		}
	case len(peers) == 1:
		parts = append(parts, "ip "+dir+" "+prefixString(peers[0]))
	default:
		s := make([]string, len(peers))
		for i, p := range peers {
			s[i] = prefixString(p)
		}
		parts = append(parts, "ip "+dir+" { "+strings.Join(s, ", ")+" }")
	}
	if match != "" {
		parts = append(parts, match)
	}
	parts = append(parts, "accept")
	return strings.Join(parts, " ")
}

// protoMatch renders a rule's protocol and ports: "" for any IPv4 traffic, "-" for
// a protocol that only exists over IPv6; ok is false when the rule is invalid.
func protoMatch(r Rule) (match string, ok bool) {
	proto := strings.ToLower(r.Protocol)
	switch proto {
	case "all", "-1", "":
		return "", true
	case "tcp", "6":
		return portMatch("tcp", r.FromPort, r.ToPort)
	case "udp", "17":
		return portMatch("udp", r.FromPort, r.ToPort)
	case "icmp", "1":
		switch {
		case r.FromPort < 0:
			return "meta l4proto icmp", true
		case r.FromPort > 255 || r.ToPort > 255:
			return "", false
		case r.ToPort < 0:
			return fmt.Sprintf("icmp type %d", r.FromPort), true
		default:
			return fmt.Sprintf("icmp type %d icmp code %d", r.FromPort, r.ToPort), true
		}
	case "icmpv6", "58":
		return "-", true
	}
	n, err := strconv.Atoi(proto)
	if err != nil || n < 0 || n > 255 {
		return "", false
	}
	return fmt.Sprintf("meta l4proto %d", n), true
}

// portMatch matches a TCP or UDP destination port range; -1 (or 0-65535) is any.
func portMatch(proto string, from, to int32) (string, bool) {
	switch {
	case from < 0 || from == 0 && to >= 65535:
		return "meta l4proto " + proto, true
	case to < from || to > 65535:
		return "", false
	case from == to:
		return fmt.Sprintf("%s dport %d", proto, from), true
	default:
		return fmt.Sprintf("%s dport %d-%d", proto, from, to), true
	}
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
