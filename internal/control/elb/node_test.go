package elb

import (
	"context"
	"net/netip"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
	"strait/internal/store"
)

// wantNodeTransit fails unless every node has its own allocatable transit
// address, recorded as held by the node's interface, and none of taken.
func wantNodeTransit(t *testing.T, c *ELB, nodes []model.LBNode, taken map[string]string) {
	t.Helper()
	for _, n := range nodes {
		a, err := netip.ParseAddr(n.TransitIP)
		if err != nil || !model.TransitRange.Contains(a) || model.TransitFixed.Contains(a) {
			t.Fatalf("node %s: transit address %q", n.ENIID, n.TransitIP)
		}
		if other, dup := taken[n.TransitIP]; dup {
			t.Fatalf("node %s: transit address %s is also %s's", n.ENIID, n.TransitIP, other)
		}
		taken[n.TransitIP] = n.ENIID
		if owner := controltest.Must(c.net.TransitOwner(context.Background(), n.TransitIP))(t); owner != n.ENIID {
			t.Fatalf("node %s: transit address %s is recorded for %q", n.ENIID, n.TransitIP, owner)
		}
	}
}

// wantFreed fails unless a transit address has no holder.
func wantFreed(t *testing.T, c *ELB, ip string) {
	t.Helper()
	if owner := controltest.Must(c.net.TransitOwner(context.Background(), ip))(t); owner != "" {
		t.Fatalf("transit address %s is still held by %s", ip, owner)
	}
}

// Every load balancer node gets its own transit address when it is created (by
// CreateLoadBalancer or SetSubnets), keeps it while it lives, and frees it when
// SetSubnets removes it or the load balancer is deleted.
func TestNodeTransit(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a", "us-east-1b", "us-east-1c")
	taken := map[string]string{v.TransitIP: v.ID}
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb", Type: LBTypeNetwork,
		Subnets: nettest.IDs(subnets[:2])}))(t)
	wantNodeTransit(t, c, lb.Nodes, taken)
	first := lb.Nodes

	lb = controltest.Must(c.SetSubnets(ctx, testAcct, lb.ARN, nettest.IDs(subnets), nil))(t)
	if len(lb.Nodes) != 3 || lb.Nodes[0] != first[0] || lb.Nodes[1] != first[1] {
		t.Fatalf("after adding a zone the nodes are %+v, want %+v and one more", lb.Nodes, first)
	}
	wantNodeTransit(t, c, lb.Nodes[2:], taken)

	lb = controltest.Must(c.SetSubnets(ctx, testAcct, lb.ARN, nettest.IDs(subnets[1:]), nil))(t)
	if len(lb.Nodes) != 2 || lb.Nodes[0] != first[1] {
		t.Fatalf("after removing zone a the nodes are %+v", lb.Nodes)
	}
	wantFreed(t, c, first[0].TransitIP)

	if err := c.DeleteLoadBalancer(ctx, testAcct, lb.ARN); err != nil {
		t.Fatal(err)
	}
	for _, n := range lb.Nodes {
		wantFreed(t, c, n.TransitIP)
	}
}

// Nodes of an earlier version (no transit address) get one from
// AssignNodeTransit; nodes that have one keep it, and a second run changes
// nothing.
func TestAssignNodeTransit(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a", "us-east-1b")
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb", Type: LBTypeNetwork,
		Subnets: nettest.IDs(subnets)}))(t)
	kept := lb.Nodes[0]
	old := lb
	old.Nodes = append([]model.LBNode(nil), lb.Nodes...)
	old.Nodes[1].TransitIP = ""
	if err := c.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(core.Key(model.KindLoadBalancer, model.ARNResourceID(lb.ARN)), old)
	}); err != nil {
		t.Fatal(err)
	}
	// The stripped address's record stays: it counts as held, so the node gets
	// another one.
	n, err := c.AssignNodeTransit(ctx)
	if err != nil || n != 1 {
		t.Fatalf("AssignNodeTransit: %d assigned (%v), want 1", n, err)
	}
	got := controltest.Must(c.LoadBalancer(ctx, testAcct, lb.ARN))(t)
	if got.Nodes[0] != kept {
		t.Fatalf("node %s changed from %+v to %+v", kept.ENIID, kept, got.Nodes[0])
	}
	if got.Nodes[1].TransitIP == lb.Nodes[1].TransitIP {
		t.Fatalf("node %s got %s again, an address still recorded", got.Nodes[1].ENIID, got.Nodes[1].TransitIP)
	}
	wantNodeTransit(t, c, got.Nodes[1:], map[string]string{v.TransitIP: v.ID, kept.TransitIP: kept.ENIID})
	if n, err := c.AssignNodeTransit(ctx); err != nil || n != 0 {
		t.Fatalf("second AssignNodeTransit: %d assigned (%v), want 0", n, err)
	}
}
