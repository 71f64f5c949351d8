package firewall_test

import (
	"errors"
	"net/netip"
	"testing"

	"strait/internal/agent/firewall"
)

// Fake records the rulesets NFTables would load, counts every apply (failed
// ones too), fails while told to, and forgets a namespace.
func TestFake(t *testing.T) {
	var f firewall.Fake
	vpc := map[netip.Addr]firewall.Rules{netip.MustParseAddr("10.0.1.50"): goldenInstance["instance_mixed"]}
	if err := f.ApplyVPC("vpc-1", vpc, goldenGroups); err != nil {
		t.Fatal(err)
	}
	resolver := netip.MustParseAddr("10.0.0.2")
	if err := f.ApplyInstance("i-1", goldenInstance["instance_default"], goldenGroups, resolver); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Ruleset("vpc-1"); !ok || got != firewall.VPCRuleset(vpc, goldenGroups) {
		t.Errorf("VPC ruleset %v:\n%s", ok, got)
	}
	if got, ok := f.Ruleset("i-1"); !ok || got != firewall.InstanceRuleset(goldenInstance["instance_default"], goldenGroups, resolver) {
		t.Errorf("instance ruleset %v:\n%s", ok, got)
	}

	refused := errors.New("refused")
	f.Fail("i-1", refused)
	if err := f.ApplyInstance("i-1", firewall.Rules{}, nil, resolver); !errors.Is(err, refused) {
		t.Fatalf("apply while failing: %v", err)
	}
	if got, _ := f.Ruleset("i-1"); got != firewall.InstanceRuleset(goldenInstance["instance_default"], goldenGroups, resolver) {
		t.Error("a failed apply replaced the recorded ruleset")
	}
	f.Fail("i-1", nil)
	if err := f.ApplyInstance("i-1", firewall.Rules{}, nil, resolver); err != nil {
		t.Fatal(err)
	}
	if n := f.Applies("i-1"); n != 3 {
		t.Errorf("%d applies, want 3", n)
	}
	f.Forget("vpc-1")
	if _, ok := f.Ruleset("vpc-1"); ok || f.Applies("vpc-1") != 1 {
		t.Error("Forget kept the ruleset, or lost the count of applies")
	}
}
