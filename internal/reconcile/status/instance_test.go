package status

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"strait/internal/control"
	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/model"
)

const testAcct = "111111111111"

// testClock is a settable clock for Config.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testRealized is a Realized whose answers the test sets.
type testRealized struct{ ready, removed map[string]bool }

func (r testRealized) Ready(id string) bool   { return r.ready[id] }
func (r testRealized) Removed(id string) bool { return r.removed[id] }

// newTestControl opens an embedded store in a temporary directory and returns a
// Status (with its operations) over it with a settable clock.
func newTestControl(t *testing.T) (*Status, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	return New(control.New(controltest.OpenStore(t), control.Config{Now: clock.Now})), clock
}

// testSubnet creates a VPC 10.0.0.0/16 with the subnet 10.0.1.0/24 in us-east-1a.
func testSubnet(t *testing.T, c *Status) model.Subnet {
	t.Helper()
	ctx := context.Background()
	v, err := c.CreateVpc(ctx, testAcct, network.CreateVpcInput{CIDR: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(ctx, testAcct, network.CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.1.0/24", AZ: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// settleQuietly runs Settle and checks that a second pass writes nothing: the
// reconciler runs Settle after every write, so a pass that always wrote would
// never stop.
func settleQuietly(t *testing.T, c *Status, r Realized) {
	t.Helper()
	ctx := context.Background()
	if err := c.Settle(ctx, r); err != nil {
		t.Fatal(err)
	}
	before, err := c.Store().Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Settle(ctx, r); err != nil {
		t.Fatal(err)
	}
	if after, err := c.Store().Rev(ctx); err != nil || after != before {
		t.Fatalf("a second Settle pass wrote to the store (revision %d → %d, %v)", before, after, err)
	}
}

// TestInstanceStatesFollowTheDataPlane checks that instances run only once the
// data plane has wired them, terminate only once it has removed them (which frees
// their addresses), and disappear an hour after terminating.
func TestInstanceStatesFollowTheDataPlane(t *testing.T) {
	c, clock := newTestControl(t)
	ctx := context.Background()
	sn := testSubnet(t, c)
	insts, err := c.RunInstances(ctx, testAcct, network.RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	state := func() model.Instance {
		t.Helper()
		inst, err := c.Instance(ctx, testAcct, id)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	r := testRealized{ready: map[string]bool{}, removed: map[string]bool{}}

	settleQuietly(t, c, r)
	if got := state(); got.State != model.InstancePending || got.InstanceType != network.DefaultInstanceType || got.PrivateDNSName != "ip-10-0-1-4.ec2.internal" {
		t.Fatalf("before the data plane wired it: %+v", got)
	}
	r.ready[id] = true
	settleQuietly(t, c, r)
	if got := state(); got.State != model.InstanceRunning || got.StateReasonCode != "" {
		t.Fatalf("once wired: %+v", got)
	}

	changes, err := c.TerminateInstances(ctx, testAcct, []string{id})
	if err != nil || len(changes) != 1 || changes[0] != (network.InstanceStateChange{ID: id, Previous: model.InstanceRunning, Current: model.InstanceShuttingDown}) {
		t.Fatalf("terminating: %+v, %v", changes, err)
	}
	settleQuietly(t, c, r)
	if got := state(); got.State != model.InstanceShuttingDown {
		t.Fatalf("before the data plane removed it: %+v", got)
	}
	if s, _ := c.Subnet(ctx, testAcct, sn.ID); network.AvailableIPs(s) != 250 {
		t.Errorf("%d free addresses while shutting down, want 250", network.AvailableIPs(s))
	}
	r.removed[id] = true
	settleQuietly(t, c, r)
	got := state()
	if got.State != model.InstanceTerminated || !got.TerminatedAt.Equal(clock.Now()) {
		t.Fatalf("once removed: %+v", got)
	}
	if s, _ := c.Subnet(ctx, testAcct, sn.ID); network.AvailableIPs(s) != 251 {
		t.Errorf("%d free addresses once terminated, want 251", network.AvailableIPs(s))
	}
	if _, err := core.Get[model.NetworkInterface](ctx, c.Store(), model.KindENI, got.ENIID); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("the interface of a terminated instance: %v", err)
	}

	clock.Advance(model.TerminatedInstanceRetention - time.Second)
	settleQuietly(t, c, r)
	state()
	clock.Advance(time.Second)
	settleQuietly(t, c, r)
	if _, err := c.Instance(ctx, testAcct, id); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("an hour after terminating: %v", err)
	}
}

// TestInstanceTerminatedBeforeRunning checks that a pending instance can be
// terminated, and that the data plane's readiness no longer makes it run.
func TestInstanceTerminatedBeforeRunning(t *testing.T) {
	c, _ := newTestControl(t)
	ctx := context.Background()
	sn := testSubnet(t, c)
	insts, err := c.RunInstances(ctx, testAcct, network.RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	changes, err := c.TerminateInstances(ctx, testAcct, []string{id})
	if err != nil || changes[0].Previous != model.InstancePending || changes[0].Current != model.InstanceShuttingDown {
		t.Fatalf("terminating a pending instance: %+v, %v", changes, err)
	}
	settleQuietly(t, c, testRealized{ready: map[string]bool{id: true}})
	if inst, _ := c.Instance(ctx, testAcct, id); inst.State != model.InstanceShuttingDown {
		t.Errorf("state %s, want shutting-down until removed", inst.State)
	}
	if _, err := c.TerminateInstances(ctx, "222222222222", []string{id}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("another account terminating it: %v", err)
	}
}
