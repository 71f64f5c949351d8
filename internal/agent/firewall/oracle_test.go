package firewall_test

import (
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
)

// oracleInstance are instance firewalls beyond the golden ones, for the
// expressions the golden ones do not reach: a prefix of partial bytes, adjacent
// prefixes (one interval), intervals from the first and to the last address.
var oracleInstance = map[string]firewall.Rules{
	"prefixes": {
		Ingress: []firewall.Rule{
			{Protocol: "tcp", FromPort: 22, ToPort: 22, Prefixes: prefixes("172.16.0.0/12")},
			{Protocol: "tcp", FromPort: 80, ToPort: 80, Prefixes: prefixes("10.0.0.0/16", "10.1.0.0/16", "10.3.0.0/16")},
			{Protocol: "udp", FromPort: 1000, ToPort: 2000, Prefixes: prefixes("0.0.0.0/8", "10.0.0.0/8")},
			{Protocol: "icmp", FromPort: 0, ToPort: 0, Prefixes: prefixes("10.0.0.0/8", "128.0.0.0/1")},
		},
		Egress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: prefixes("10.0.0.7/32", "10.0.0.9/32")}},
	},
}

// The library loads what nft makes of the rendered text: each firewall is
// loaded by NFTables (google/nftables) into one namespace and as text by the
// nft program into another, and nft lists both tables alike, rules and their
// expressions (nft --debug=netlink) included. Then element updates: a table
// changed by them lists as the changed firewall loaded whole.
func TestLibraryLoadsWhatNFTLoads(t *testing.T) {
	h := netnstest.NewHost(t)
	nft := newNFTables(t, h)
	lib := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	cli := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	netnstest.EnsureVPC(t, h, lib)
	netnstest.EnsureVPC(t, h, cli)
	resolver := netns.Resolver(lib.CIDR)
	same := func(name, text string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), name+".nft")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		netnstest.Run(t, "ip", "netns", "exec", h.Namespace(cli.ID), "nft", "-f", path)
		for _, args := range [][]string{{"list", "table", "inet", "strait"}, {"--debug=netlink", "list", "table", "inet", "strait"}} {
			want := listTable(t, h.Namespace(cli.ID), args)
			if got := listTable(t, h.Namespace(lib.ID), args); got != want {
				t.Errorf("%s: nft %v\nof the library's table:\n%s\nof the text loaded by nft:\n%s", name, args, got, want)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(goldenVPC)) {
		nft.Forget(lib.ID)
		if err := nft.ApplyVPC(lib.ID, goldenVPC[name], goldenGroups); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		same(name, firewall.VPCRuleset(goldenVPC[name], goldenGroups))
	}
	instances := maps.Clone(goldenInstance)
	maps.Copy(instances, oracleInstance)
	for _, name := range slices.Sorted(maps.Keys(instances)) {
		nft.Forget(lib.ID)
		if err := nft.ApplyInstance(lib.ID, instances[name], goldenGroups, resolver); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		same(name, firewall.InstanceRuleset(instances[name], goldenGroups, resolver))
	}

	// Element updates: members and addresses come and go, one changes chain.
	fw := goldenVPC["vpc_endpoints"]
	nft.Forget(lib.ID)
	if err := nft.ApplyVPC(lib.ID, fw, goldenGroups); err != nil {
		t.Fatal(err)
	}
	fw = maps.Clone(fw)
	delete(fw, netip.MustParseAddr("10.0.1.71"))
	fw[netip.MustParseAddr("10.0.1.73")] = fw[netip.MustParseAddr("10.0.1.70")]
	fw[netip.MustParseAddr("10.0.1.70")] = fw[netip.MustParseAddr("10.0.1.50")]
	groups := maps.Clone(goldenGroups)
	groups["sg-0a1b2c3d4e5f60718"] = []netip.Addr{netip.MustParseAddr("10.0.1.73"), netip.MustParseAddr("10.0.1.72")}
	groups["sg-empty"] = []netip.Addr{netip.MustParseAddr("10.0.9.9")}
	// A table made anew gets a new handle (rules do not: theirs count from 1 in
	// each table).
	tableHandle := func() string {
		out := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(lib.ID), "nft", "-a", "list", "table", "inet", "strait")
		header, _, _ := strings.Cut(out, "\n")
		return header
	}
	before := tableHandle()
	if err := nft.ApplyVPC(lib.ID, fw, groups); err != nil {
		t.Fatal(err)
	}
	same("vpc_endpoints changed", firewall.VPCRuleset(fw, groups))
	if after := tableHandle(); after != before || !strings.Contains(after, "# handle") {
		t.Errorf("the table was replaced, not updated: %q, then %q", before, after)
	}
}

// What differs between two namespaces' listings of the same table: the numbers
// of anonymous sets and the handles of rules (the namespaces' histories), the
// order of a hash set's elements (its hash seed). And one that does not matter:
// nft marks the last element of an interval set that reaches the last address
// as an open interval, in user data only it reads (NFTNL_SET_ELEM_F_INTERVAL_OPEN,
// for listing); the library cannot write an element's user data, and the kernel
// matches the same without it.
var (
	openInterval = regexp.MustCompile(`  userdata = \{ \\x01\\x04\\x01\\x00\\x00\\x00 \}`)
	anonymousSet = regexp.MustCompile(`__set[0-9]+`)
	ruleHandles  = regexp.MustCompile(`(?m)^(inet strait \S+)( [0-9]+)+$`)
)

// listTable runs nft with args in a namespace, its listing made comparable:
// anonymous set numbers and rule handles dropped, elements listed one a line
// (--debug=netlink) sorted.
func listTable(t *testing.T, ns string, args []string) string {
	t.Helper()
	out := netnstest.Run(t, "ip", append([]string{"netns", "exec", ns, "nft"}, args...)...)
	out = openInterval.ReplaceAllString(out, "")
	out = ruleHandles.ReplaceAllString(anonymousSet.ReplaceAllString(out, "__set"), "$1")
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], "\telement ") {
			j++
		}
		slices.Sort(lines[i:j])
		i = j + 1
	}
	return strings.Join(lines, "\n")
}
