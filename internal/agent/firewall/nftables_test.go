package firewall_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// newNFTables returns the firewall of h's namespaces.
func newNFTables(t *testing.T, h *netns.Host) *firewall.NFTables {
	t.Helper()
	nft, err := firewall.New(h, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return nft
}

// An ENI's rules decide who reaches it: others are dropped (they time out); the
// resolver and addresses without rules stay open.
func TestVPCFirewall(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	allowed := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	denied := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	eni := netip.MustParseAddr("10.0.1.50")
	open := netip.MustParseAddr("10.0.1.60")
	enis := []netns.ENI{
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni},
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: open},
	}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	netnstest.Listen(t, h, v.ID, "10.0.1.50:443", "eni")
	netnstest.Listen(t, h, v.ID, "10.0.1.50:444", "eni")
	netnstest.Listen(t, h, v.ID, "10.0.1.60:443", "open")
	netnstest.Listen(t, h, v.ID, "10.0.0.2:53", "resolver")

	fw := map[netip.Addr]firewall.Rules{eni: {Ingress: []firewall.Rule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.10/32")}},
	}}}
	start := time.Now()
	if err := nft.ApplyVPC(v.ID, fw, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("ApplyVPCFirewall: %v", time.Since(start))
	netnstest.MustAsk(t, h, allowed.ID, "", "10.0.1.50:443", "eni 10.0.1.10:*")
	netnstest.MustTimeOut(t, h, allowed.ID, "10.0.1.50:444") // port not allowed
	netnstest.MustTimeOut(t, h, denied.ID, "10.0.1.50:443")  // source not allowed
	if err := netnstest.Ping(h, denied.ID, eni, time.Second); err == nil {
		t.Fatal("ping to a firewalled ENI got an answer")
	}
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.1.60:443", "open 10.0.2.20:*")
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.0.2:53", "resolver 10.0.2.20:*")
	// The VPC namespace itself is not filtered (replies to it neither).
	netnstest.MustAsk(t, h, v.ID, "10.0.1.1", "10.0.1.50:444", "eni 10.0.1.1:*")

	// Replacing the rules: the whole VPC, all ports.
	fw[eni] = firewall.Rules{Ingress: []firewall.Rule{
		{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}},
	}}
	if err := nft.ApplyVPC(v.ID, fw, nil); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.1.50:443", "eni 10.0.2.20:*")
	netnstest.MustAsk(t, h, allowed.ID, "", "10.0.1.50:444", "eni 10.0.1.10:*")
	if err := netnstest.Ping(h, denied.ID, eni, 2*time.Second); err != nil {
		t.Fatalf("ping with an all-traffic rule: %v", err)
	}

	// No rules for the address: dropped; no firewall: open.
	if err := nft.ApplyVPC(v.ID, map[netip.Addr]firewall.Rules{eni: {}}, nil); err != nil {
		t.Fatal(err)
	}
	netnstest.MustTimeOut(t, h, allowed.ID, "10.0.1.50:443")
	if err := nft.ApplyVPC(v.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.1.50:443", "eni 10.0.2.20:*")
}

// An ENI's rules also decide connections to it that are translated elsewhere
// (the kernel path DNATs endpoint connections in prerouting, and they never
// reach input): the firewall runs in prerouting before destination NAT.
func TestVPCFirewallBeforeDNAT(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	allowed := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	denied := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	target := netnstest.Instance(t, h, v, 0, "10.0.1.30")
	eni := netip.MustParseAddr("10.0.1.50")
	if err := h.SetAddresses(v.ID, []netns.ENI{{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni}}, v); err != nil {
		t.Fatal(err)
	}
	netnstest.Listen(t, h, target.ID, "10.0.1.30:8080", "target")
	// What the kernel path will load: the ENI's port translated to the target.
	nat := filepath.Join(t.TempDir(), "nat.nft")
	err := os.WriteFile(nat, []byte("table ip dnat_test {\n"+
		"\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"+
		"\t\tip daddr 10.0.1.50 tcp dport 443 dnat to 10.0.1.30:8080\n\t}\n}\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	netnstest.Run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "-f", nat)
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.1.50:443", "target 10.0.2.20:*") // no firewall yet

	fw := map[netip.Addr]firewall.Rules{eni: {Ingress: []firewall.Rule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.10/32")}},
	}}}
	if err := nft.ApplyVPC(v.ID, fw, nil); err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, allowed.ID, "", "10.0.1.50:443", "target 10.0.1.10:*")
	netnstest.MustTimeOut(t, h, denied.ID, "10.0.1.50:443")
	// The target itself is no ENI with rules: reached directly, it is open.
	netnstest.MustAsk(t, h, denied.ID, "", "10.0.1.30:8080", "target 10.0.2.20:*")
}

// Instance groups: inbound must match an ingress rule and outbound an egress rule;
// replies and DNS to the resolver pass.
func TestInstanceFirewall(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	db := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	client := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	other := netnstest.Instance(t, h, v, 0, "10.0.1.30")
	for _, i := range []netns.Instance{db, client, other} {
		for _, port := range []int{3306, 22} {
			netnstest.Listen(t, h, i.ID, fmt.Sprintf("%s:%d", i.IP, port), i.IP.String())
		}
	}
	netnstest.Listen(t, h, v.ID, "10.0.0.2:53", "resolver")
	err := nft.ApplyInstance(db.ID, firewall.Rules{
		Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24")}}},
		Egress:  []firewall.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.2.20/32")}}},
	}, nil, netns.Resolver(v.CIDR))
	if err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, client.ID, "", "10.0.1.10:3306", "10.0.1.10 10.0.2.20:*")
	netnstest.MustTimeOut(t, h, other.ID, "10.0.1.10:3306") // source not allowed
	netnstest.MustTimeOut(t, h, client.ID, "10.0.1.10:22")  // port not allowed
	if err := netnstest.Ping(h, client.ID, db.IP, time.Second); err == nil {
		t.Fatal("ping to an instance without an ICMP rule got an answer")
	}
	// Egress.
	netnstest.MustAsk(t, h, db.ID, "", "10.0.2.20:22", "10.0.2.20 10.0.1.10:*")
	netnstest.MustTimeOut(t, h, db.ID, "10.0.2.20:3306")
	netnstest.MustTimeOut(t, h, db.ID, "10.0.1.30:22")
	netnstest.MustAsk(t, h, db.ID, "", "10.0.0.2:53", "resolver 10.0.1.10:*")
	// Loopback is never filtered.
	netnstest.MustAsk(t, h, db.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.1.10:*")

	// AWS's default: all out, members in.
	err = nft.ApplyInstance(db.ID, firewall.Rules{
		Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.30/32")}}},
		Egress:  []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
	}, nil, netns.Resolver(v.CIDR))
	if err != nil {
		t.Fatal(err)
	}
	netnstest.MustAsk(t, h, other.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.1.30:*")
	netnstest.MustTimeOut(t, h, client.ID, "10.0.1.10:3306")
	netnstest.MustAsk(t, h, db.ID, "", "10.0.2.20:3306", "10.0.2.20 10.0.1.10:*")
	if err := netnstest.Ping(h, db.ID, client.IP, 2*time.Second); err != nil {
		t.Fatalf("ping out with an all-traffic egress rule: %v", err)
	}
}

// Rules that admit a security group follow its members, and addresses come and
// go, without the rules changing (element updates, not a new table).
func TestFirewallGroupMembers(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	b := netnstest.Instance(t, h, v, 1, "10.0.2.20")
	eni1, eni2 := netip.MustParseAddr("10.0.1.50"), netip.MustParseAddr("10.0.1.51")
	enis := []netns.ENI{
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni1},
		{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: eni2},
	}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		t.Fatal(err)
	}
	for _, e := range enis {
		netnstest.Listen(t, h, v.ID, e.IP.String()+":443", e.IP.String())
	}
	for _, i := range []netns.Instance{a, b} {
		netnstest.Listen(t, h, i.ID, i.IP.String()+":22", i.IP.String())
	}
	members := firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, Group: "sg-1"}}}
	apply := func(fw map[netip.Addr]firewall.Rules, group ...netns.Instance) {
		t.Helper()
		var ips []netip.Addr
		for _, i := range group {
			ips = append(ips, i.IP)
		}
		groups := map[string][]netip.Addr{"sg-1": ips}
		if err := nft.ApplyVPC(v.ID, fw, groups); err != nil {
			t.Fatal(err)
		}
		// The instance admits SSH from the group's members.
		err := nft.ApplyInstance(a.ID, firewall.Rules{
			Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Group: "sg-1"}},
			Egress:  []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
		}, groups, netns.Resolver(v.CIDR))
		if err != nil {
			t.Fatal(err)
		}
	}
	apply(map[netip.Addr]firewall.Rules{eni1: members}, a)
	netnstest.MustAsk(t, h, a.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.1.10:*")
	netnstest.MustTimeOut(t, h, b.ID, "10.0.1.50:443")
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*") // no firewall yet
	netnstest.MustTimeOut(t, h, b.ID, "10.0.1.10:22")

	// b joins the group, the second address gets the same firewall.
	apply(map[netip.Addr]firewall.Rules{eni1: members, eni2: members}, a, b)
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.2.20:*")
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*")
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.10:22", "10.0.1.10 10.0.2.20:*")

	// a leaves it; the first address loses its firewall.
	apply(map[netip.Addr]firewall.Rules{eni2: members}, b)
	netnstest.MustTimeOut(t, h, a.ID, "10.0.1.51:443")
	netnstest.MustAsk(t, h, a.ID, "", "10.0.1.50:443", "10.0.1.50 10.0.1.10:*")
	netnstest.MustAsk(t, h, b.ID, "", "10.0.1.51:443", "10.0.1.51 10.0.2.20:*")

	// The table is what a whole load of the same firewall gives.
	rules := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "list", "table", "inet", "strait")
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
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, h, v)
	fw := map[netip.Addr]firewall.Rules{
		netip.MustParseAddr("10.0.1.50"): {Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-1"}}},
	}
	groups := func(ips ...string) map[string][]netip.Addr {
		var m []netip.Addr
		for _, s := range ips {
			m = append(m, netip.MustParseAddr(s))
		}
		return map[string][]netip.Addr{"sg-1": m}
	}
	if err := nft.ApplyVPC(v.ID, fw, groups("10.0.1.10", "10.0.1.11")); err != nil {
		t.Fatal(err)
	}
	netnstest.Run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "flush", "set", "inet", "strait", "g_sg_1")
	// Deleting 10.0.1.11 from the emptied set fails; the table is loaded whole.
	if err := nft.ApplyVPC(v.ID, fw, groups("10.0.1.10")); err != nil {
		t.Fatal(err)
	}
	rules := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(v.ID), "nft", "list", "set", "inet", "strait", "g_sg_1")
	if !strings.Contains(rules, "elements = { 10.0.1.10 }") {
		t.Fatalf("set after the fallback:\n%s", rules)
	}
}
