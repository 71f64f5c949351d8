package network

import (
	"context"
	"fmt"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

// RunInstances launches pending instances, each with its own interface and the
// next free address; a repeat with the client token returns the same instances.
func TestRunInstances(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	in := RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 3, Tags: model.Tags{"Name": "web"}, ClientToken: "tok-1"}
	insts, err := c.RunInstances(ctx, testAcct, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 3 {
		t.Fatalf("%d instances, want 3", len(insts))
	}
	v := controltest.Must(c.Vpc(ctx, testAcct, sn.VpcID))(t)
	for i, inst := range insts {
		want := fmt.Sprintf("10.0.1.%d", 4+i)
		if inst.State != model.InstancePending || inst.PrivateIP != want || inst.SubnetID != sn.ID || inst.AZ != sn.AZ ||
			inst.InstanceType != DefaultInstanceType || inst.AMILaunchIndex != int32(i) || inst.ReservationID != insts[0].ReservationID ||
			len(inst.SecurityGroups) != 1 || inst.SecurityGroups[0] != v.DefaultSecurityGroupID || inst.Tags["Name"] != "web" {
			t.Fatalf("instance %d: %+v (want address %s)", i, inst, want)
		}
	}
	again, err := c.RunInstances(ctx, testAcct, in)
	if err != nil || len(again) != 3 || again[0].ID != insts[0].ID || again[2].ID != insts[2].ID {
		t.Fatalf("the repeat gave %+v (%v)", again, err)
	}
	if all := controltest.Must(c.Instances(ctx, testAcct))(t); len(all) != 3 {
		t.Fatalf("%d instances after the repeat, want 3", len(all))
	}
	in.MaxCount = 2
	_, err = c.RunInstances(ctx, testAcct, in)
	controltest.WantError(t, "the token with other parameters", err, model.ErrConflict, "", model.ReasonTokenMismatch)
}

// RunInstances refuses bad requests before launching anything.
func TestRunInstancesRefused(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/28") // 11 usable addresses
	other := subnetIn(t, c, "10.0.2.0/24")
	otherVpc := controltest.Must(c.Vpc(ctx, testAcct, other.VpcID))(t)
	base := RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1}
	for _, tc := range []struct {
		what   string
		change func(*RunInstancesInput)
		err    error
		kind   string
		reason model.Reason
	}{
		{"no image", func(in *RunInstancesInput) { in.ImageID = "" }, model.ErrMissing, "", ""},
		{"a malformed image", func(in *RunInstancesInput) { in.ImageID = "img-1" }, model.ErrInvalid, "", model.ReasonMalformedImageID},
		{"MinCount 0", func(in *RunInstancesInput) { in.MinCount = 0 }, model.ErrInvalid, "", ""},
		{"MaxCount below MinCount", func(in *RunInstancesInput) { in.MinCount, in.MaxCount = 3, 2 }, model.ErrInvalid, "", ""},
		{"an address for two", func(in *RunInstancesInput) { in.PrivateIP, in.MaxCount = "10.0.1.9", 2 }, model.ErrInvalid, "", model.ReasonParameterCombination},
		{"no subnet", func(in *RunInstancesInput) { in.SubnetID = "" }, model.ErrMissing, "", model.ReasonNoVpc},
		{"another zone", func(in *RunInstancesInput) { in.AZ = "us-east-1b" }, model.ErrInvalid, "", ""},
		{"a group of another VPC", func(in *RunInstancesInput) { in.SecurityGroupIDs = []string{otherVpc.DefaultSecurityGroupID} }, model.ErrInvalid, model.KindSecurityGroup, model.ReasonParameter},
		{"six groups", func(in *RunInstancesInput) {
			in.SecurityGroupIDs = []string{"sg-00000001", "sg-00000002", "sg-00000003", "sg-00000004", "sg-00000005", "sg-00000006"}
		}, model.ErrLimit, "", model.ReasonGroupsPerInterface},
		{"more than the subnet holds", func(in *RunInstancesInput) { in.MinCount, in.MaxCount = 12, 12 }, model.ErrLimit, "", model.ReasonSubnetFull},
	} {
		in := base
		tc.change(&in)
		_, err := c.RunInstances(ctx, testAcct, in)
		controltest.WantError(t, tc.what, err, tc.err, tc.kind, tc.reason)
	}
	if all := controltest.Must(c.Instances(ctx, testAcct))(t); len(all) != 0 {
		t.Fatalf("refused launches left %d instances", len(all))
	}
	// MaxCount beyond the free addresses launches as many as fit.
	insts, err := c.RunInstances(ctx, testAcct, RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 2, MaxCount: 20})
	if err != nil || len(insts) != 11 {
		t.Fatalf("launching up to 20 in a /28: %d instances (%v), want 11", len(insts), err)
	}
}

// TerminateInstances moves live instances to shutting-down, leaves shutting-down
// ones alone, and terminates nothing when one ID is unknown or another account's.
func TestTerminateInstances(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	insts := controltest.Must(c.RunInstances(ctx, testAcct, RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 2, MaxCount: 2}))(t)
	a, b := insts[0].ID, insts[1].ID
	_, err := c.TerminateInstances(ctx, testAcct, []string{a, "i-0123456789abcdef0"})
	de := controltest.WantError(t, "an unknown instance among others", err, model.ErrNotFound, model.KindInstance, "")
	if de.ID != "i-0123456789abcdef0" {
		t.Fatalf("the error names %q", de.ID)
	}
	_, err = c.TerminateInstances(ctx, "222222222222", []string{a})
	controltest.WantError(t, "another account's instance", err, model.ErrNotFound, model.KindInstance, "")
	_, err = c.TerminateInstances(ctx, testAcct, []string{"i-xyz"})
	controltest.WantError(t, "a malformed ID", err, model.ErrInvalid, model.KindInstance, "")
	if got := controltest.Must(c.Instance(ctx, testAcct, a))(t); got.State != model.InstancePending {
		t.Fatalf("a refused termination changed %s to %s", a, got.State)
	}
	changes, err := c.TerminateInstances(ctx, testAcct, []string{a, a})
	if err != nil || len(changes) != 1 || changes[0] != (InstanceStateChange{ID: a, Previous: model.InstancePending, Current: model.InstanceShuttingDown}) {
		t.Fatalf("terminating %s: %+v (%v)", a, changes, err)
	}
	changes, err = c.TerminateInstances(ctx, testAcct, []string{a, b})
	if err != nil || len(changes) != 2 ||
		changes[0] != (InstanceStateChange{ID: a, Previous: model.InstanceShuttingDown, Current: model.InstanceShuttingDown}) ||
		changes[1] != (InstanceStateChange{ID: b, Previous: model.InstancePending, Current: model.InstanceShuttingDown}) {
		t.Fatalf("terminating both: %+v (%v)", changes, err)
	}
	got := controltest.Must(c.Instance(ctx, testAcct, b))(t)
	if got.StateReasonCode != "Client.UserInitiatedShutdown" || got.StateTransitionReason == "" {
		t.Fatalf("the terminated instance's reason: %+v", got)
	}
}
