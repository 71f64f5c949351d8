package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// tableHeader starts every ruleset.
const tableHeader = "add table inet strait\ndelete table inet strait\ntable inet strait {\n"

// ingressMap names the verdict map of a VPC namespace: address → its chain.
const ingressMap = "ingress"

// nftTableName is the name of Strait's table in every namespace.
const nftTableName = "strait"

// nftTable is the table of one namespace in three parts: the named sets of
// security group members, the ingress map (VPC namespaces only) and the chains.
// Two tables whose chains and set names are the same differ in elements only.
type nftTable struct {
	vpc       bool
	sets      map[string][]netip.Addr // set name → sorted IPv4 members
	ingress   map[netip.Addr]string   // address → the chain its traffic must pass
	chains    []nftChain
	chainText string // the chains as nft text, to compare tables by
}

// nftChain is a chain: a base chain when hook is set, which applies policy to
// what its rules leave.
type nftChain struct {
	name     string
	hook     string // "prerouting", "input", "output"
	priority int32
	policy   nftables.ChainPolicy
	rules    []nftRule
}

// hooks are the base chain hooks the tables use.
var hooks = map[string]*nftables.ChainHook{
	"prerouting": nftables.ChainHookPrerouting,
	"input":      nftables.ChainHookInput,
	"output":     nftables.ChainHookOutput,
}

// vpcPriority is the priority of a VPC namespace's base chain: after conntrack
// (-200), so that replies pass as established, and before destination NAT
// (-100), so that the security groups of an address also see the connections
// to it that are translated to somewhere else.
const vpcPriority = -150

func (c nftChain) text() string {
	var b strings.Builder
	b.WriteString("\tchain " + c.name + " {\n")
	if c.hook != "" {
		prio, policy := "filter", "accept"
		if c.priority != 0 {
			prio = strconv.Itoa(int(c.priority))
		}
		if c.policy == nftables.ChainPolicyDrop {
			policy = "drop"
		}
		b.WriteString("\t\ttype filter hook " + c.hook + " priority " + prio + "; policy " + policy + ";\n")
	}
	b.WriteString(rulesText(c.rules))
	b.WriteString("\t}\n")
	return b.String()
}

// rulesText is the rules of a chain as nft text.
func rulesText(rules []nftRule) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString("\t\t" + r.text() + "\n")
	}
	return b.String()
}

// VPCRuleset is the firewall of a VPC namespace. Traffic to an address listed in fw
// (an endpoint ENI, a load balancer node with security groups) must match one of
// the address's ingress rules or is dropped, so that the client times out as with a
// security group; replies to connections the namespace made, traffic from the
// namespace itself and everything else (the resolver, routed traffic) pass. The
// check is made in prerouting, before destination NAT, so it also covers
// connections to the address that are translated elsewhere.
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
	chains := map[string][]nftRule{} // name → rules
	for a, f := range fw {
		if !a.Is4() {
			continue
		}
		t.ingress[a] = firewallChain(f, chains)
		t.addSets(f.Ingress, groups)
		t.addSets(f.AlsoIngress, groups)
	}
	t.chains = append(t.chains, nftChain{
		name: "prerouting", hook: "prerouting", priority: vpcPriority, policy: nftables.ChainPolicyAccept,
		rules: []nftRule{
			{matches: []match{ctEstablished{}}, verdict: acceptVerdict},
			{matches: []match{loopback{}}, verdict: acceptVerdict},
			{verdict: verdict{vmap: ingressMap}},
		},
	})
	for _, name := range slices.Sorted(maps.Keys(chains)) {
		t.chains = append(t.chains, nftChain{name: name, rules: chains[name]})
	}
	t.renderChains()
	return t
}

// firewallChain adds the chains of an address's firewall to chains (name → rules)
// and returns the name of the one its traffic jumps to. A chain is named after
// its content, so addresses with the same rules share it. Traffic admitted by the
// ingress rules must pass the AlsoIngress chain too, when there is one.
func firewallChain(f Rules, chains map[string][]nftRule) string {
	v := acceptVerdict
	if f.AlsoIngress != nil {
		also := chainRules(groupRules(f.AlsoIngress, false), acceptVerdict)
		name := chainName(also)
		chains[name] = also
		v = verdict{kind: expr.VerdictGoto, chain: name}
	}
	rules := chainRules(groupRules(f.Ingress, false), v)
	name := chainName(rules)
	chains[name] = rules
	return name
}

// chainRules is a chain of accepting rules (with verdict v instead of accept)
// that drops what they do not match.
func chainRules(rules []nftRule, v verdict) []nftRule {
	for i := range rules {
		rules[i].verdict = v
	}
	return append(rules, nftRule{verdict: dropVerdict})
}

// chainName names a chain after its rules.
func chainName(rules []nftRule) string {
	sum := sha256.Sum256([]byte(rulesText(rules)))
	return "fw_" + hex.EncodeToString(sum[:8])
}

func instanceTable(fw Rules, groups map[string][]netip.Addr, resolver netip.Addr) nftTable {
	t := nftTable{sets: map[string][]netip.Addr{}}
	t.addSets(fw.Ingress, groups)
	t.addSets(fw.Egress, groups)
	input := []nftRule{
		{matches: []match{ctEstablished{}}, verdict: acceptVerdict},
		{matches: []match{loopback{}}, verdict: acceptVerdict},
	}
	output := []nftRule{
		{matches: []match{ctEstablished{}}, verdict: acceptVerdict},
		{matches: []match{loopback{out: true}}, verdict: acceptVerdict},
	}
	if resolver.Is4() {
		output = append(output, nftRule{
			matches: []match{addrMatch{dst: true, prefixes: []netip.Prefix{netip.PrefixFrom(resolver, 32)}}, l4proto{6, 17}, dport{from: 53, to: 53}},
			verdict: acceptVerdict,
		})
	}
	t.chains = []nftChain{
		{name: "input", hook: "input", policy: nftables.ChainPolicyDrop, rules: append(input, groupRules(fw.Ingress, false)...)},
		{name: "output", hook: "output", policy: nftables.ChainPolicyDrop, rules: append(output, groupRules(fw.Egress, true)...)},
	}
	t.renderChains()
	return t
}

// renderChains sets the text of the table's chains.
func (t *nftTable) renderChains() {
	var b strings.Builder
	for _, c := range t.chains {
		b.WriteString(c.text())
	}
	t.chainText = b.String()
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

// text is the table as an nft script that replaces it whole (the golden files'
// form; NFTables loads the same description through netlink, see load).
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
	b.WriteString(t.chainText)
	b.WriteString("}\n")
	return b.String()
}

// equal reports whether two tables are the same.
func (t nftTable) equal(o nftTable) bool {
	return t.vpc == o.vpc && t.chainText == o.chainText && maps.Equal(t.ingress, o.ingress) &&
		maps.EqualFunc(t.sets, o.sets, slices.Equal[[]netip.Addr])
}
