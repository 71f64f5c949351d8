package firewall_test

import (
	"flag"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

var updateNFT = flag.Bool("update-nft", false, "rewrite testdata/*.nft from the generated rulesets")

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// The firewalls of the golden files, also loaded into nft by TestRulesetsLoad.
var (
	goldenVPC = map[string]map[netip.Addr]firewall.Rules{
		"vpc_empty": nil,
		"vpc_endpoints": {
			// An endpoint ENI whose group admits HTTPS from the VPC and one host for all.
			netip.MustParseAddr("10.0.1.50"): {Ingress: []firewall.Rule{
				{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: prefixes("10.0.0.0/16")},
				{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: prefixes("192.168.7.7/32")},
			}},
			// The same endpoint's ENI in another subnet: the same rules, given twice
			// and in another order (two groups with the same rule).
			netip.MustParseAddr("10.0.2.50"): {Ingress: []firewall.Rule{
				{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: prefixes("192.168.7.7/32")},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: prefixes("10.0.0.0/16")},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: prefixes("10.0.0.0/16")},
			}},
			// A load balancer node whose group allows nothing.
			netip.MustParseAddr("10.0.3.9"): {},
			// An endpoint whose service's load balancer enforces its own groups on
			// PrivateLink traffic: both rule sets must admit a connection.
			netip.MustParseAddr("10.0.1.60"): {
				Ingress:     []firewall.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Prefixes: prefixes("10.0.0.0/16")}},
				AlsoIngress: []firewall.Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Prefixes: prefixes("10.0.1.0/24")}},
			},
			// IPv6 addresses are not filtered.
			netip.MustParseAddr("fd00::1"): {Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 80, ToPort: 80, Prefixes: prefixes("::/0")}}},
			// Endpoints in a group that admits its own members, and one more.
			netip.MustParseAddr("10.0.1.70"): {Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-0a1b2c3d4e5f60718"}}},
			netip.MustParseAddr("10.0.1.71"): {Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-0a1b2c3d4e5f60718"}}},
			netip.MustParseAddr("10.0.1.72"): {Ingress: []firewall.Rule{
				{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-0a1b2c3d4e5f60718"},
				{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-empty"},
			}},
		},
	}
	// goldenGroups are the members of the groups the golden firewalls refer to.
	goldenGroups = map[string][]netip.Addr{
		"sg-0a1b2c3d4e5f60718": {netip.MustParseAddr("10.0.1.72"), netip.MustParseAddr("10.0.1.70"), netip.MustParseAddr("10.0.1.71"), netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("fd00::7")},
		"sg-default":           {netip.MustParseAddr("10.0.2.20"), netip.MustParseAddr("10.0.1.10")},
		"sg-unused":            {netip.MustParseAddr("10.9.9.9")},
	}
	goldenInstance = map[string]firewall.Rules{
		// AWS's default group: members (resolved to addresses) in, everything out.
		"instance_default": {
			Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-default"}},
			Egress:  []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: prefixes("0.0.0.0/0")}},
		},
		"instance_nothing": {},
		"instance_mixed": {
			Ingress: []firewall.Rule{
				{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Prefixes: prefixes("10.0.0.0/16", "10.0.1.0/24", "10.0.2.7/32", "172.16.0.0/12", "2001:db8::/32")},
				{Protocol: "tcp", FromPort: 8000, ToPort: 8100, Prefixes: prefixes("0.0.0.0/0")},
				{Protocol: "tcp", FromPort: 0, ToPort: 65535, Prefixes: prefixes("10.9.0.0/16")},
				{Protocol: "udp", FromPort: 53, ToPort: 53, Prefixes: prefixes("10.0.0.0/8")},
				{Protocol: "17", FromPort: -1, ToPort: -1, Prefixes: prefixes("10.1.0.0/16")},
				{Protocol: "icmp", FromPort: 8, ToPort: -1, Prefixes: prefixes("0.0.0.0/0")},
				{Protocol: "icmp", FromPort: 3, ToPort: 4, Prefixes: prefixes("10.0.0.0/16")},
				{Protocol: "1", FromPort: -1, ToPort: -1, Prefixes: prefixes("10.3.0.0/16")},
				{Protocol: "47", FromPort: -1, ToPort: -1, Prefixes: prefixes("10.4.0.0/16")},
				{Protocol: "icmpv6", FromPort: -1, ToPort: -1, Prefixes: prefixes("::/0")},
				{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: prefixes("2001:db8::/32")},
				{Protocol: "tcp", FromPort: 22, ToPort: 22},
				{Protocol: "gre", FromPort: -1, ToPort: -1, Prefixes: prefixes("0.0.0.0/0")},
				{Protocol: "tcp", FromPort: 90, ToPort: 80, Prefixes: prefixes("0.0.0.0/0")},
			},
			Egress: []firewall.Rule{
				{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: prefixes("10.0.1.50/32", "10.0.2.50/32")},
				{Protocol: "udp", FromPort: 123, ToPort: 123, Prefixes: prefixes("0.0.0.0/0")},
			},
		},
	}
)

func TestRulesetGolden(t *testing.T) {
	got := map[string]string{}
	for name, fw := range goldenVPC {
		got[name] = firewall.VPCRuleset(fw, goldenGroups)
	}
	for name, fw := range goldenInstance {
		got[name] = firewall.InstanceRuleset(fw, goldenGroups, netip.MustParseAddr("10.0.0.2"))
	}
	for name, text := range got {
		path := filepath.Join("testdata", name+".nft")
		if *updateNFT {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-nft to create it)", err)
		}
		if text != string(want) {
			t.Errorf("%s: generated ruleset differs from %s:\n%s", name, path, text)
		}
	}
}

// The generated rulesets are valid nft: each is loaded into a namespace, each
// replacing the one before.
func TestRulesetsLoad(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, h, v)
	a := netnstest.Instance(t, h, v, 0, "10.0.1.10")
	for range 2 {
		for _, name := range slices.Sorted(maps.Keys(goldenVPC)) {
			start := time.Now()
			if err := nft.ApplyVPC(v.ID, goldenVPC[name], goldenGroups); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("ApplyVPCFirewall %s: %v", name, time.Since(start))
		}
		for _, name := range slices.Sorted(maps.Keys(goldenInstance)) {
			if err := nft.ApplyInstance(a.ID, goldenInstance[name], goldenGroups, netns.Resolver(v.CIDR)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	// Cached: the same ruleset is not loaded again.
	start := time.Now()
	if err := nft.ApplyInstance(a.ID, goldenInstance["instance_nothing"], goldenGroups, netns.Resolver(v.CIDR)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Millisecond {
		t.Errorf("re-applying an unchanged firewall took %v", d)
	}
	if err := nft.ApplyInstance(a.ID, goldenInstance["instance_mixed"], goldenGroups, netns.Resolver(v.CIDR)); err != nil {
		t.Fatal(err)
	}
	rules := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(a.ID), "nft", "list", "ruleset")
	for _, want := range []string{"udp dport 123 accept", "ip saddr { 10.0.0.0/16, 172.16.0.0/12 } tcp dport 3306 accept"} {
		if !strings.Contains(rules, want) {
			t.Fatalf("instance ruleset lacks %q:\n%s", want, rules)
		}
	}
	if strings.Count(rules, "table inet strait") != 1 {
		t.Fatalf("instance ruleset:\n%s", rules)
	}
}
