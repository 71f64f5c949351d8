package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The nftables firewalls of Strait's namespaces. Each namespace has one table,
// "inet strait". Rules that admit a security group's members match a named set
// of the group's addresses (@g_<group>), and a VPC's addresses jump through a
// verdict map (@ingress) to one chain per distinct firewall, so that members and
// addresses coming and going change set and map elements only: those changes go
// to the kernel as element updates (see nftBatch). Any other change replaces the
// table atomically: the text first adds the table (so that deleting it cannot
// fail), deletes it, then declares it whole, all in one `nft -f` transaction.
// Only IPv4 is filtered; IPv6 prefixes in rules are skipped.

// tableHeader starts every ruleset.
const tableHeader = "add table inet strait\ndelete table inet strait\ntable inet strait {\n"

// vpcInput is the base chain of a VPC namespace.
const vpcInput = "\tchain input {\n" +
	"\t\ttype filter hook input priority filter; policy accept;\n" +
	"\t\tct state established,related accept\n" +
	"\t\tiif \"lo\" accept\n" +
	"\t\tip daddr vmap @" + ingressMap + "\n" +
	"\t}\n"

// ingressMap names the verdict map of a VPC namespace: address → its chain.
const ingressMap = "ingress"

// nftTable is the table of one namespace in three parts: the named sets of
// security group members, the ingress map (VPC namespaces only) and the chains.
// Two tables whose chains and set names are the same differ in elements only.
type nftTable struct {
	vpc     bool
	sets    map[string][]netip.Addr // set name → sorted IPv4 members
	ingress map[netip.Addr]string   // address → the chain its traffic must pass
	chains  string                  // every chain, as nft text
}

// VPCRuleset is the firewall of a VPC namespace. Traffic to an address listed in fw
// (an endpoint ENI, a load balancer node with security groups) must match one of
// the address's ingress rules or is dropped, so that the client times out as with a
// security group; replies to connections the namespace made, traffic from the
// namespace itself and everything else (the resolver, routed traffic) pass.
// groups holds the members of the security groups that rules refer to.
func VPCRuleset(fw map[netip.Addr]Firewall, groups map[string][]netip.Addr) string {
	return vpcTable(fw, groups).text()
}

// InstanceRuleset is the firewall of an instance namespace: inbound traffic must
// match an ingress rule, outbound traffic an egress rule, except replies, loopback
// and DNS to the VPC resolver (which security groups do not filter in AWS either).
// groups holds the members of the security groups that rules refer to.
func InstanceRuleset(fw Firewall, groups map[string][]netip.Addr, resolver netip.Addr) string {
	return instanceTable(fw, groups, resolver).text()
}

func vpcTable(fw map[netip.Addr]Firewall, groups map[string][]netip.Addr) nftTable {
	t := nftTable{vpc: true, sets: map[string][]netip.Addr{}, ingress: map[netip.Addr]string{}}
	chains := map[string]string{} // name → body
	for a, f := range fw {
		if !a.Is4() {
			continue
		}
		t.ingress[a] = firewallChain(f, chains)
		t.addSets(f.Ingress, groups)
		t.addSets(f.AlsoIngress, groups)
	}
	var b strings.Builder
	b.WriteString(vpcInput)
	for _, name := range slices.Sorted(maps.Keys(chains)) {
		b.WriteString("\tchain " + name + " {\n" + chains[name] + "\t}\n")
	}
	t.chains = b.String()
	return t
}

// firewallChain adds the chains of an address's firewall to chains (name → body)
// and returns the name of the one its traffic jumps to. A chain is named after
// its content, so addresses with the same rules share it. Traffic admitted by the
// ingress rules must pass the AlsoIngress chain too, when there is one.
func firewallChain(f Firewall, chains map[string]string) string {
	verdict := "accept"
	if f.AlsoIngress != nil {
		also := chainBody(ruleLines(f.AlsoIngress, "saddr"), "accept")
		name := chainName(also)
		chains[name] = also
		verdict = "goto " + name
	}
	body := chainBody(ruleLines(f.Ingress, "saddr"), verdict)
	name := chainName(body)
	chains[name] = body
	return name
}

// chainBody is the text of a chain of accepting rules (with verdict instead of
// accept) that drops what they do not match.
func chainBody(lines []string, verdict string) string {
	var b strings.Builder
	for _, line := range lines {
		if rest, ok := strings.CutSuffix(line, " accept"); ok && !strings.HasPrefix(line, "#") {
			line = rest + " " + verdict
		}
		b.WriteString("\t\t" + line + "\n")
	}
	b.WriteString("\t\tdrop\n")
	return b.String()
}

// chainName names a chain after its body.
func chainName(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "fw_" + hex.EncodeToString(sum[:8])
}

func instanceTable(fw Firewall, groups map[string][]netip.Addr, resolver netip.Addr) nftTable {
	t := nftTable{sets: map[string][]netip.Addr{}}
	t.addSets(fw.Ingress, groups)
	t.addSets(fw.Egress, groups)
	var b strings.Builder
	b.WriteString("\tchain input {\n")
	b.WriteString("\t\ttype filter hook input priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n")
	b.WriteString("\t\tiif \"lo\" accept\n")
	for _, line := range ruleLines(fw.Ingress, "saddr") {
		b.WriteString("\t\t" + line + "\n")
	}
	b.WriteString("\t}\n")
	b.WriteString("\tchain output {\n")
	b.WriteString("\t\ttype filter hook output priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n")
	b.WriteString("\t\toif \"lo\" accept\n")
	if resolver.Is4() {
		b.WriteString("\t\tip daddr " + resolver.String() + " meta l4proto { tcp, udp } th dport 53 accept\n")
	}
	for _, line := range ruleLines(fw.Egress, "daddr") {
		b.WriteString("\t\t" + line + "\n")
	}
	b.WriteString("\t}\n")
	t.chains = b.String()
	return t
}

// addSets adds the sets of the groups rules refer to, with their IPv4 members.
func (t *nftTable) addSets(rules []Rule, groups map[string][]netip.Addr) {
	for _, r := range rules {
		if r.Group == "" {
			continue
		}
		name := setName(r.Group)
		if _, ok := t.sets[name]; ok {
			continue
		}
		var members []netip.Addr
		for _, a := range groups[r.Group] {
			if a.Is4() {
				members = append(members, a)
			}
		}
		slices.SortFunc(members, netip.Addr.Compare)
		t.sets[name] = slices.Compact(members)
	}
}

// setName names the set of a security group's members.
func setName(group string) string {
	return "g_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, group)
}

// text is the table as an nft script that replaces it whole.
func (t nftTable) text() string {
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, name := range slices.Sorted(maps.Keys(t.sets)) {
		b.WriteString("\tset " + name + " {\n\t\ttype ipv4_addr\n")
		if members := t.sets[name]; len(members) > 0 {
			s := make([]string, len(members))
			for i, a := range members {
				s[i] = a.String()
			}
			b.WriteString("\t\telements = { " + strings.Join(s, ", ") + " }\n")
		}
		b.WriteString("\t}\n")
	}
	if t.vpc {
		b.WriteString("\tmap " + ingressMap + " {\n\t\ttype ipv4_addr : verdict\n")
		if len(t.ingress) > 0 {
			addrs := slices.SortedFunc(maps.Keys(t.ingress), netip.Addr.Compare)
			s := make([]string, len(addrs))
			for i, a := range addrs {
				s[i] = a.String() + " : jump " + t.ingress[a]
			}
			b.WriteString("\t\telements = { " + strings.Join(s, ", ") + " }\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString(t.chains)
	b.WriteString("}\n")
	return b.String()
}

// equal reports whether two tables are the same.
func (t nftTable) equal(o nftTable) bool {
	return t.vpc == o.vpc && t.chains == o.chains && maps.Equal(t.ingress, o.ingress) &&
		maps.EqualFunc(t.sets, o.sets, slices.Equal[[]netip.Addr])
}

// maxDelta is the most element changes applied as such; more replace the table.
const maxDelta = 2048

// delta is the element changes that turn table t into o, when the two differ in
// set and map elements only (and not too many of them); ok is false otherwise.
func (t nftTable) delta(o nftTable) (b nftBatch, ok bool) {
	if t.vpc != o.vpc || t.chains != o.chains || len(t.sets) != len(o.sets) {
		return b, false
	}
	type setDelta struct {
		name        string
		gone, added []netip.Addr
	}
	var sets []setDelta
	n := 0
	for _, name := range slices.Sorted(maps.Keys(o.sets)) {
		old, ok := t.sets[name]
		if !ok {
			return b, false
		}
		gone, added := addrDiff(old, o.sets[name])
		n += len(gone) + len(added)
		sets = append(sets, setDelta{name, gone, added})
	}
	var gone, added []mapEntry
	for a, chain := range t.ingress {
		if o.ingress[a] != chain {
			gone = append(gone, mapEntry{a, chain})
		}
	}
	for a, chain := range o.ingress {
		if t.ingress[a] != chain {
			added = append(added, mapEntry{a, chain})
		}
	}
	if n += len(gone) + len(added); n > maxDelta {
		return b, false
	}
	// Deletions first: a changed map entry is deleted and added again.
	for _, d := range sets {
		b.addrs(true, d.name, d.gone)
	}
	b.jumps(true, ingressMap, gone)
	for _, d := range sets {
		b.addrs(false, d.name, d.added)
	}
	b.jumps(false, ingressMap, added)
	return b, true
}

// addrDiff compares two sorted address lists: what only a has, what only b has.
func addrDiff(a, b []netip.Addr) (onlyA, onlyB []netip.Addr) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Less(b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j].Less(a[i]):
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

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
