package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"strait/internal/agent"
	"strait/internal/agent/firewall"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/dataplane"
	"strait/internal/relay"
)

// newAgent returns an agent over h with fw as its firewall; it is closed when
// the test ends (before h's namespaces are removed).
func newAgent(t *testing.T, h *netns.Host, fw agent.Firewall) *agent.Agent {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	proxy := dataplane.New(dataplane.Options{Dial: h.StartDial, Logger: log})
	a, err := agent.New(h, fw, relay.NewLocal(proxy, h, log), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// oneVPC is a state with a VPC whose resolver knows one name, an instance in
// it whose SSH port admits the members of sg-1, and an open endpoint with one
// ENI admitting HTTPS from the VPC.
func oneVPC() agent.State {
	v := netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	sn := v.Subnets[0]
	return agent.State{
		VPCs: []agent.VPC{{VPC: v, DNS: map[string][]netip.Addr{"db.example.internal.": {netip.MustParseAddr("10.0.1.10")}}}},
		Instances: []agent.Instance{{
			Instance: netns.Instance{ID: netnstest.RandomID("i"), VpcID: v.ID, SubnetID: sn.ID, IP: netip.MustParseAddr("10.0.1.10")},
			Firewall: firewall.Rules{
				Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, Group: "sg-1"}},
				Egress:  []firewall.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}},
			},
		}},
		Endpoints: []agent.Endpoint{{
			ID: netnstest.RandomID("vpce"), VpcID: v.ID, ServiceID: netnstest.RandomID("vpce-svc"), Open: true,
			ENIs:     []netns.ENI{{ID: netnstest.RandomID("eni"), SubnetID: sn.ID, AZ: sn.AZ, IP: netip.MustParseAddr("10.0.1.50")}},
			Firewall: firewall.Rules{Ingress: []firewall.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, Prefixes: []netip.Prefix{v.CIDR}}}},
		}},
		Groups: map[string][]netip.Addr{"sg-1": {netip.MustParseAddr("10.0.1.10")}},
	}
}

// lookup asks the VPC resolver for name from inside the namespace of id.
func lookup(t *testing.T, h *netns.Host, id, resolver, name string) []string {
	t.Helper()
	dial := func(context.Context, string, string) (c net.Conn, err error) {
		err = h.Do(id, func() (err error) {
			c, err = net.Dial("udp", resolver+":53")
			return err
		})
		return c, err
	}
	r := &net.Resolver{PreferGo: true, Dial: dial}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := r.LookupHost(ctx, name)
	if err != nil {
		t.Fatalf("looking up %s from %s: %v", name, id, err)
	}
	return ips
}

// Apply creates what the state has, applies each firewall once while nothing
// changes, re-applies the one whose group members change, retries a failed one
// on the next Apply, and removes everything the state no longer has.
func TestApply(t *testing.T) {
	h := netnstest.NewHost(t)
	fake := &firewall.Fake{}
	a := newAgent(t, h, fake)
	st := oneVPC()
	v, in, ep := st.VPCs[0], st.Instances[0], st.Endpoints[0]
	ctx := context.Background()

	if err := a.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{v.ID, in.ID, ep.ID} {
		if !a.Ready(id) || a.Removed(id) {
			t.Errorf("%s after Apply: ready %v, removed %v", id, a.Ready(id), a.Removed(id))
		}
	}
	if out := netnstest.Run(t, "ip", "-n", h.Namespace(v.ID), "-o", "-4", "addr", "show"); !strings.Contains(out, "10.0.1.50/32") {
		t.Errorf("the endpoint's ENI address is not in the VPC namespace:\n%s", out)
	}
	if rules, _ := fake.Ruleset(v.ID); !strings.Contains(rules, "10.0.1.50 : jump fw_") {
		t.Errorf("VPC firewall without the endpoint's address:\n%s", rules)
	}
	if rules, _ := fake.Ruleset(in.ID); !strings.Contains(rules, "ip daddr 10.0.0.2 meta l4proto { tcp, udp } th dport 53 accept") {
		t.Errorf("instance firewall without DNS to the VPC resolver:\n%s", rules)
	}
	if ips := lookup(t, h, in.ID, "10.0.0.2", "db.example.internal"); !slices.Equal(ips, []string{"10.0.1.10"}) {
		t.Errorf("the VPC resolver answered %v", ips)
	}

	// Nothing changed: no firewall is applied again.
	if err := a.Apply(ctx, oneVPCAgain(st)); err != nil {
		t.Fatal(err)
	}
	if n, m := fake.Applies(v.ID), fake.Applies(in.ID); n != 1 || m != 1 {
		t.Errorf("applies after an unchanged Apply: VPC %d, instance %d; want 1, 1", n, m)
	}
	// A member joins sg-1: the instance's rules refer to it, the VPC's do not.
	st = oneVPCAgain(st)
	st.Groups = map[string][]netip.Addr{"sg-1": {netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.1.11")}}
	if err := a.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	if n, m := fake.Applies(v.ID), fake.Applies(in.ID); n != 1 || m != 2 {
		t.Errorf("applies after sg-1 changed: VPC %d, instance %d; want 1, 2", n, m)
	}

	// The instance's firewall fails: it is not ready, the others are; the next
	// Apply retries it.
	fake.Fail(in.ID, errors.New("refused"))
	st = oneVPCAgain(st)
	st.Instances[0].Firewall.Ingress = nil
	if err := a.Apply(ctx, st); err == nil || !strings.Contains(err.Error(), "instance "+in.ID) {
		t.Fatalf("Apply with a failing instance firewall: %v", err)
	}
	if a.Ready(in.ID) || !a.Ready(v.ID) || !a.Ready(ep.ID) {
		t.Errorf("after a failed instance firewall: instance ready %v, VPC %v, endpoint %v", a.Ready(in.ID), a.Ready(v.ID), a.Ready(ep.ID))
	}
	fake.Fail(in.ID, nil)
	if err := a.Apply(ctx, oneVPCAgain(st)); err != nil {
		t.Fatal(err)
	}
	if !a.Ready(in.ID) {
		t.Error("the instance is not ready after its firewall was applied")
	}

	// An empty state removes everything, and the firewall forgets the namespaces.
	if err := a.Apply(ctx, agent.State{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{v.ID, in.ID, ep.ID} {
		if a.Ready(id) || !a.Removed(id) {
			t.Errorf("%s after removal: ready %v, removed %v", id, a.Ready(id), a.Removed(id))
		}
	}
	for _, id := range []string{v.ID, in.ID} {
		if h.Exists(id) {
			t.Errorf("the namespace of %s is still there", id)
		}
		if _, ok := fake.Ruleset(id); ok {
			t.Errorf("the firewall still remembers %s", id)
		}
	}
}

// oneVPCAgain is st as the reconciler builds it anew for each Apply: the same
// content in new maps and slices.
func oneVPCAgain(st agent.State) agent.State {
	out := st
	out.VPCs = slices.Clone(st.VPCs)
	out.Instances = slices.Clone(st.Instances)
	out.Endpoints = slices.Clone(st.Endpoints)
	out.Groups = map[string][]netip.Addr{}
	for g, m := range st.Groups {
		out.Groups[g] = slices.Clone(m)
	}
	return out
}

// An instance whose namespace was made anew (here removed behind the agent's
// back, then rewired for a new address) gets its firewall loaded whole: the
// firewall does not take the new namespace for the old one it remembers.
func TestApplyNewNamespaceGetsFirewall(t *testing.T) {
	h := netnstest.NewHost(t)
	nft, err := firewall.New(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, h, nft)
	st := oneVPC()
	in := st.Instances[0]
	if err := a.Apply(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveInstance(in.ID); err != nil {
		t.Fatal(err)
	}
	st = oneVPCAgain(st)
	st.Instances[0].IP = netip.MustParseAddr("10.0.1.12")
	if err := a.Apply(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if out := netnstest.Run(t, "ip", "netns", "exec", h.Namespace(in.ID), "nft", "list", "tables"); !strings.Contains(out, "table inet strait") {
		t.Fatalf("no firewall in the instance's new namespace; tables: %q", out)
	}
}
