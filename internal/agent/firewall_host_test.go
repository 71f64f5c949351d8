package agent_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"strait/internal/agent"
)

// An ENI's rules decide who reaches it: others are dropped (they time out); the
// resolver and addresses without rules stay open.
func TestVPCFirewall(t *testing.T) {
	h := newHost(t)
	v := vpc("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	ensureVPC(t, h, v)
	allowed := instance(t, h, v, 0, "10.0.1.10")
	denied := instance(t, h, v, 1, "10.0.2.20")
	eni := netip.MustParseAddr("10.0.1.50")
	open := netip.MustParseAddr("10.0.1.60")
	enis := []agent.ENI{
		{ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni},
		{ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: open},
	}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	listen(t, h, v.ID, "10.0.1.50:443", "eni")
	listen(t, h, v.ID, "10.0.1.50:444", "eni")
	listen(t, h, v.ID, "10.0.1.60:443", "open")
	listen(t, h, v.ID, "10.0.0.2:53", "resolver")

	fw := map[netip.Addr]agent.Firewall{eni: {Ingress: []agent.Rule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.10/32")}},
	}}}
	start := time.Now()
	if err := h.ApplyVPCFirewall(v.ID, fw, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("ApplyVPCFirewall: %v", time.Since(start))
	mustAsk(t, h, allowed.ID, "", "10.0.1.50:443", "eni 10.0.1.10:*")
	mustTimeOut(t, h, allowed.ID, "10.0.1.50:444") // port not allowed
	mustTimeOut(t, h, denied.ID, "10.0.1.50:443")  // source not allowed
	if err := ping(h, denied.ID, eni, time.Second); err == nil {
		t.Fatal("ping to a firewalled ENI got an answer")
	}
	mustAsk(t, h, denied.ID, "", "10.0.1.60:443", "open 10.0.2.20:*")
	mustAsk(t, h, denied.ID, "", "10.0.0.2:53", "resolver 10.0.2.20:*")
	// The VPC namespace itself is not filtered (replies to it neither).
	mustAsk(t, h, v.ID, "10.0.1.1", "10.0.1.50:444", "eni 10.0.1.1:*")

	// Replacing the rules: the whole VPC, all ports.
	fw[eni] = agent.Firewall{Ingress: []agent.Rule{
		{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}},
	}}
	if err := h.ApplyVPCFirewall(v.ID, fw, nil); err != nil {
		t.Fatal(err)
	}
	mustAsk(t, h, denied.ID, "", "10.0.1.50:443", "eni 10.0.2.20:*")
	mustAsk(t, h, allowed.ID, "", "10.0.1.50:444", "eni 10.0.1.10:*")
	if err := ping(h, denied.ID, eni, 2*time.Second); err != nil {
		t.Fatalf("ping with an all-traffic rule: %v", err)
	}

	// No rules for the address: dropped; no firewall: open.
	if err := h.ApplyVPCFirewall(v.ID, map[netip.Addr]agent.Firewall{eni: {}}, nil); err != nil {
		t.Fatal(err)
	}
	mustTimeOut(t, h, allowed.ID, "10.0.1.50:443")
	if err := h.ApplyVPCFirewall(v.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	mustAsk(t, h, denied.ID, "", "10.0.1.50:443", "eni 10.0.2.20:*")
}

// Instance groups: inbound must match an ingress rule and outbound an egress rule;
// replies and DNS to the resolver pass.
func TestInstanceFirewall(t *testing.T) {
	h := newHost(t)
	v := vpc("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	ensureVPC(t, h, v)
	db := instance(t, h, v, 0, "10.0.1.10")
	client := instance(t, h, v, 1, "10.0.2.20")
	other := instance(t, h, v, 0, "10.0.1.30")
	for _, i := range []agent.Instance{db, client, other} {
		for _, port := range []int{3306, 22} {
			listen(t, h, i.ID, fmt.Sprintf("%s:%d", i.IP, port), i.IP.String())
		}
	}
	listen(t, h, v.ID, "10.0.0.2:53", "resolver")
	err := h.ApplyInstanceFirewall(db.ID, agent.Firewall{
		Ingress: []agent.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24")}}},
		Egress:  []agent.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.2.20/32")}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAsk(t, h, client.ID, "", "10.0.1.10:3306", "10.0.1.10 10.0.2.20:*")
	mustTimeOut(t, h, other.ID, "10.0.1.10:3306") // source not allowed
	mustTimeOut(t, h, client.ID, "10.0.1.10:22")  // port not allowed
	if err := ping(h, client.ID, db.IP, time.Second); err == nil {
		t.Fatal("ping to an instance without an ICMP rule got an answer")
	}
	// Egress.
	mustAsk(t, h, db.ID, "", "10.0.2.20:22", "10.0.2.20 10.0.1.10:*")
	mustTimeOut(t, h, db.ID, "10.0.2.20:3306")
	mustTimeOut(t, h, db.ID, "10.0.1.30:22")
	mustAsk(t, h, db.ID, "", "10.0.0.2:53", "resolver 10.0.1.10:*")
	// Loopback is never filtered.
	mustAsk(t, h, db.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.1.10:*")

	// AWS's default: all out, members in.
	err = h.ApplyInstanceFirewall(db.ID, agent.Firewall{
		Ingress: []agent.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.30/32")}}},
		Egress:  []agent.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAsk(t, h, other.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.1.30:*")
	mustTimeOut(t, h, client.ID, "10.0.1.10:3306")
	mustAsk(t, h, db.ID, "", "10.0.2.20:3306", "10.0.2.20 10.0.1.10:*")
	if err := ping(h, db.ID, client.IP, 2*time.Second); err != nil {
		t.Fatalf("ping out with an all-traffic egress rule: %v", err)
	}
}

// Rules that admit a security group follow its members, and addresses come and
// go, without the rules changing (element updates, not a new table).
func TestFirewallGroupMembers(t *testing.T) {
	h := newHost(t)
	v := vpc("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	ensureVPC(t, h, v)
	a := instance(t, h, v, 0, "10.0.1.10")
	b := instance(t, h, v, 1, "10.0.2.20")
	eni1, eni2 := netip.MustParseAddr("10.0.1.50"), netip.MustParseAddr("10.0.1.51")
	enis := []agent.ENI{
		{ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni1},
		{ID: randomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni2},
	}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	for _, e := range enis {
		listen(t, h, v.ID, e.IP.String()+":443", e.IP.String())
	}
	for _, i := range []agent.Instance{a, b} {
		listen(t, h, i.ID, i.IP.String()+":22", i.IP.String())
	}
	members := agent.Firewall{Ingress: []agent.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, Group: "sg-1"}}}
	apply := func(fw map[netip.Addr]agent.Firewall, group ...agent.Instance) {
		t.Helper()
		var ips []netip.Addr
		for _, i := range group {
			ips = append(ips, i.IP)
		}
		groups := map[string][]netip.Addr{"sg-1": ips}
		if err := h.ApplyVPCFirewall(v.ID, fw, groups); err != nil {
			t.Fatal(err)
		}
		// The instance admits SSH from the group's members.
		err := h.ApplyInstanceFirewall(a.ID, agent.Firewall{
			Ingress: []agent.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Group: "sg-1"}},
			Egress:  []agent.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
		}, groups)
		if err != nil {
			t.Fatal(err)
		}
	}
	apply(map[netip.Addr]agent.Firewall{eni1: members}, a)
	mustAsk(t, h, a.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.1.10:*")
	mustTimeOut(t, h, b.ID, "10.0.1.50:443")
	mustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*") // no firewall yet
	mustTimeOut(t, h, b.ID, "10.0.1.10:22")

	// b joins the group, the second address gets the same firewall.
	apply(map[netip.Addr]agent.Firewall{eni1: members, eni2: members}, a, b)
	mustAsk(t, h, b.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.2.20:*")
	mustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*")
	mustAsk(t, h, b.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.2.20:*")

	// a leaves it; the first address loses its firewall.
	apply(map[netip.Addr]agent.Firewall{eni2: members}, b)
	mustTimeOut(t, h, a.ID, "10.0.1.51:443")
	mustAsk(t, h, a.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.1.10:*")
	mustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*")

	// The table is what a whole load of the same firewall gives.
	rules := run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "list", "table", "inet", "strait")
	for _, want := range []string{"elements = { 10.0.2.20 }", "10.0.1.51 : jump fw_"} {
		if !strings.Contains(rules, want) {
			t.Errorf("VPC table lacks %q:\n%s", want, rules)
		}
	}
	if strings.Contains(rules, "10.0.1.50") {
		t.Errorf("VPC table still has the removed address:\n%s", rules)
	}
}

// An element update that the kernel refuses (someone changed the table behind
// Strait's back) falls back to loading the whole table.
func TestFirewallElementUpdateFallsBack(t *testing.T) {
	h := newHost(t)
	v := vpc("10.0.0.0/16", "10.0.1.0/24")
	ensureVPC(t, h, v)
	fw := map[netip.Addr]agent.Firewall{
		netip.MustParseAddr("10.0.1.50"): {Ingress: []agent.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-1"}}},
	}
	groups := func(ips ...string) map[string][]netip.Addr {
		var m []netip.Addr
		for _, s := range ips {
			m = append(m, netip.MustParseAddr(s))
		}
		return map[string][]netip.Addr{"sg-1": m}
	}
	if err := h.ApplyVPCFirewall(v.ID, fw, groups("10.0.1.10", "10.0.1.11")); err != nil {
		t.Fatal(err)
	}
	run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "flush", "set", "inet", "strait", "g_sg_1")
	// Deleting 10.0.1.11 from the emptied set fails; the table is loaded whole.
	if err := h.ApplyVPCFirewall(v.ID, fw, groups("10.0.1.10")); err != nil {
		t.Fatal(err)
	}
	rules := run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "list", "set", "inet", "strait", "g_sg_1")
	if !strings.Contains(rules, "elements = { 10.0.1.10 }") {
		t.Fatalf("set after the fallback:\n%s", rules)
	}
}
