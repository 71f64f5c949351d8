package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

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
func VPCRuleset(fw map[netip.Addr]Rules, groups map[string][]netip.Addr) string {
	return vpcTable(fw, groups).text()
}

// InstanceRuleset is the firewall of an instance namespace: inbound traffic must
// match an ingress rule, outbound traffic an egress rule, except replies, loopback
// and DNS to the VPC resolver (which security groups do not filter in AWS either).
// groups holds the members of the security groups that rules refer to.
func InstanceRuleset(fw Rules, groups map[string][]netip.Addr, resolver netip.Addr) string {
	return instanceTable(fw, groups, resolver).text()
}

func vpcTable(fw map[netip.Addr]Rules, groups map[string][]netip.Addr) nftTable {
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
func firewallChain(f Rules, chains map[string]string) string {
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

func instanceTable(fw Rules, groups map[string][]netip.Addr, resolver netip.Addr) nftTable {
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
