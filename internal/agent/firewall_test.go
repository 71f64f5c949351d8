package agent

import (
	"errors"
	"maps"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
)

// These tests need no root: the firewall is a firewall.Fake, which renders
// what NFTables would load and records it, and only the orchestrator's firewall
// step runs (no namespaces).

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func tcp(port int32, prefix string) firewall.Rule {
	return firewall.Rule{Protocol: "tcp", FromPort: port, ToPort: port, Prefixes: []netip.Prefix{netip.MustParsePrefix(prefix)}}
}

// fakeAgent is an Agent with only its firewall step: a Fake firewall and no
// host or proxy.
func fakeAgent() (*Agent, *firewall.Fake) {
	fw := &firewall.Fake{}
	return &Agent{
		fw: fw, ph: newPhases(),
		vpcFW:  map[string]appliedFirewall[map[netip.Addr]firewall.Rules]{},
		instFW: map[string]appliedFirewall[firewall.Rules]{},
	}, fw
}

// Each ENI address gets the rules of its endpoint or load balancer; an
// endpoint of a load balancer that enforces its groups on PrivateLink traffic
// also gets that load balancer's ingress rules, and the state is not changed.
func TestVPCInterfaces(t *testing.T) {
	lbRules := firewall.Rules{Ingress: []firewall.Rule{tcp(80, "10.0.0.0/8")}}
	epRules := firewall.Rules{Ingress: []firewall.Rule{tcp(80, "10.0.1.0/24")}}
	eni := func(id, ip string) netns.ENI {
		return netns.ENI{ID: id, SubnetID: "subnet-1", AZ: "us-east-1a", IP: netip.MustParseAddr(ip)}
	}
	st := State{
		LoadBalancers: []LoadBalancer{
			{LoadBalancer: dataplane.LoadBalancer{ARN: "arn:enforcing", VpcID: "vpc-p"}, ENIs: []netns.ENI{eni("eni-n1", "10.1.1.10")},
				Firewall: &lbRules, EnforceOnPrivateLink: true},
			{LoadBalancer: dataplane.LoadBalancer{ARN: "arn:open", VpcID: "vpc-p"}, ENIs: []netns.ENI{eni("eni-n2", "10.1.1.11")}},
		},
		Endpoints: []Endpoint{
			{ID: "vpce-1", VpcID: "vpc-c", LoadBalancers: []string{"arn:enforcing"}, Firewall: epRules,
				ENIs: []netns.ENI{eni("eni-e1", "10.0.1.50"), eni("eni-e2", "10.0.2.50")}},
			{ID: "vpce-2", VpcID: "vpc-c", LoadBalancers: []string{"arn:open"}, Firewall: epRules,
				ENIs: []netns.ENI{eni("eni-e3", "10.0.1.51")}},
		},
	}
	enis, fws := vpcInterfaces(st)

	if got := len(enis["vpc-c"]); got != 3 {
		t.Errorf("consumer VPC ENIs: %d, want 3", got)
	}
	if got := len(enis["vpc-p"]); got != 2 {
		t.Errorf("provider VPC ENIs: %d, want 2", got)
	}
	enforced := firewall.Rules{Ingress: epRules.Ingress, AlsoIngress: lbRules.Ingress}
	want := map[string]map[netip.Addr]firewall.Rules{
		"vpc-c": {
			netip.MustParseAddr("10.0.1.50"): enforced,
			netip.MustParseAddr("10.0.2.50"): enforced,
			netip.MustParseAddr("10.0.1.51"): epRules,
		},
		"vpc-p": {netip.MustParseAddr("10.1.1.10"): lbRules}, // the other node has no groups
	}
	if !reflect.DeepEqual(fws, want) {
		t.Errorf("firewalls:\n%+v\nwant\n%+v", fws, want)
	}
	if st.Endpoints[0].Firewall.AlsoIngress != nil {
		t.Error("vpcInterfaces changed the endpoint's rules in the state")
	}
}

// A VPC's firewall is applied when its rules or the members of a group they
// refer to change, not otherwise; a failed apply is retried with the same
// rules.
func TestVPCFirewallAppliedOnChange(t *testing.T) {
	a, fake := fakeAgent()
	eni := netip.MustParseAddr("10.0.1.50")
	members := firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, Group: "sg-1"}}}
	rules := map[netip.Addr]firewall.Rules{eni: members}
	groups := map[string][]netip.Addr{"sg-1": addrs("10.0.1.10"), "sg-other": addrs("10.0.9.9")}

	apply := func(rules map[netip.Addr]firewall.Rules, groups map[string][]netip.Addr, wantApplies int) {
		t.Helper()
		if err := a.applyVPCFirewall("vpc-1", rules, groups); err != nil {
			t.Fatal(err)
		}
		if n := fake.Applies("vpc-1"); n != wantApplies {
			t.Fatalf("%d applies, want %d", n, wantApplies)
		}
		if got, _ := fake.Ruleset("vpc-1"); got != firewall.VPCRuleset(rules, groups) {
			t.Fatalf("applied ruleset:\n%s\nwant the rendering of the rules given", got)
		}
	}
	apply(rules, groups, 1)
	apply(rules, groups, 1) // unchanged
	groups["sg-other"] = addrs("10.0.9.9", "10.0.9.10")
	apply(rules, groups, 1) // a group no rule refers to
	groups["sg-1"] = addrs("10.0.1.10", "10.0.1.11")
	apply(rules, groups, 2) // a member joins a referenced group
	// An address more, in a map of its own as each Apply's state has.
	rules = maps.Clone(rules)
	rules[netip.MustParseAddr("10.0.1.51")] = members
	apply(rules, groups, 3)

	// A failure is not recorded as applied: the same rules go again.
	fake.Fail("vpc-1", errors.New("refused"))
	rules = maps.Clone(rules)
	delete(rules, eni)
	if err := a.applyVPCFirewall("vpc-1", rules, groups); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("apply with a failing firewall: %v", err)
	}
	fake.Fail("vpc-1", nil)
	apply(rules, groups, 5)
	apply(rules, groups, 5)
}

// An instance's firewall is applied as a VPC's, with DNS to its VPC's resolver
// allowed.
func TestInstanceFirewallAppliedOnChange(t *testing.T) {
	a, fake := fakeAgent()
	v := VPC{VPC: netns.VPC{ID: "vpc-1", CIDR: netip.MustParsePrefix("172.31.0.0/16")}}
	in := Instance{Instance: netns.Instance{ID: "i-1", VpcID: v.ID}, Firewall: firewall.Rules{
		Ingress: []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-1"}},
		Egress:  []firewall.Rule{tcp(443, "0.0.0.0/0")},
	}}
	groups := map[string][]netip.Addr{"sg-1": addrs("172.31.1.5")}
	for range 2 {
		if err := a.applyInstanceFirewall(in, v, groups); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Applies("i-1"); n != 1 {
		t.Fatalf("%d applies of an unchanged firewall, want 1", n)
	}
	got, _ := fake.Ruleset("i-1")
	if want := firewall.InstanceRuleset(in.Firewall, groups, netip.MustParseAddr("172.31.0.2")); got != want {
		t.Fatalf("applied ruleset:\n%s\nwant\n%s", got, want)
	}
	groups["sg-1"] = addrs("172.31.1.5", "172.31.1.6")
	if err := a.applyInstanceFirewall(in, v, groups); err != nil {
		t.Fatal(err)
	}
	if n := fake.Applies("i-1"); n != 2 {
		t.Fatalf("%d applies after a member joined, want 2", n)
	}
}
