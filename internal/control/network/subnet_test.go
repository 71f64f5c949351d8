package network

import (
	"context"
	"fmt"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
	"strait/internal/store"
)

// A subnet must lie inside its VPC's range and overlap no other subnet of it;
// a refused subnet is not stored.
func TestCreateSubnetRanges(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	sn, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.1.0/24", AZ: "use1-az2"})
	if err != nil {
		t.Fatal(err)
	}
	if sn.VpcID != v.ID || sn.CIDR != "10.0.1.0/24" || sn.AZ != "us-east-1b" || sn.AZID != "use1-az2" || sn.State != "available" || AvailableIPs(sn) != 251 {
		t.Fatalf("subnet %+v (%d available)", sn, AvailableIPs(sn))
	}
	for _, tc := range []struct {
		cidr   string
		err    error
		reason model.Reason
	}{
		{"10.1.0.0/24", model.ErrInvalid, model.ReasonSubnetRange},       // outside the VPC
		{"10.0.0.0/15", model.ErrInvalid, model.ReasonSubnetRange},       // larger than /16
		{"10.0.1.0/29", model.ErrInvalid, model.ReasonSubnetRange},       // smaller than /28
		{"10.0.1.128/25", model.ErrConflict, model.ReasonSubnetConflict}, // inside 10.0.1.0/24
		{"10.0.0.0/23", model.ErrConflict, model.ReasonSubnetConflict},   // holds 10.0.1.0/24
	} {
		_, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: tc.cidr})
		controltest.WantError(t, "subnet "+tc.cidr, err, tc.err, "", tc.reason)
	}
	_, err = c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.2.0/24", AZ: "us-east-1z"})
	controltest.WantError(t, "an unknown zone", err, model.ErrInvalid, "", "")
	_, err = c.CreateSubnet(ctx, "222222222222", CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.2.0/24"})
	controltest.WantError(t, "a subnet in another account's VPC", err, model.ErrNotFound, model.KindVpc, "")
	if all, err := c.SubnetsOfVpc(ctx, v.ID); err != nil || len(all) != 1 {
		t.Fatalf("after the refusals the VPC has %d subnets (%v), want 1", len(all), err)
	}
	// Adjacent ranges are fine.
	if _, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.0.0/24"}); err != nil {
		t.Fatalf("an adjacent subnet: %v", err)
	}
}

// Without a zone, a subnet goes to the zone of the VPC with the fewest subnets.
func TestCreateSubnetPicksLeastUsedZone(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	var zones []string
	for i, az := range []string{"us-east-1a", "", "", "", ""} {
		sn, err := c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: fmt.Sprintf("10.0.%d.0/24", i+1), AZ: az})
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, sn.AZ)
	}
	want := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a", "us-east-1b"}
	for i := range want {
		if zones[i] != want[i] {
			t.Fatalf("zones %v, want %v", zones, want)
		}
	}
}

// A subnet with an interface in it cannot be deleted; another account cannot
// see it.
func TestDeleteSubnetInUse(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	sn := subnetIn(t, c, "10.0.1.0/24")
	insts := controltest.Must(c.RunInstances(ctx, testAcct, RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1}))(t)
	err := c.DeleteSubnet(ctx, testAcct, sn.ID)
	controltest.WantError(t, "deleting a subnet with an instance", err, model.ErrInUse, model.KindSubnet, "")
	err = c.DeleteSubnet(ctx, "222222222222", sn.ID)
	controltest.WantError(t, "another account deleting the subnet", err, model.ErrNotFound, model.KindSubnet, "")
	// The instance's interface is freed when the reconciler settles its
	// termination; here it is removed directly as settle would.
	if err := c.MoveInstance(ctx, insts[0].ID, model.InstancePending, func(tx *store.Tx, inst *model.Instance) (bool, error) {
		return true, DeleteENI(tx, inst.ENIID)
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSubnet(ctx, testAcct, sn.ID); err != nil {
		t.Fatalf("deleting the emptied subnet: %v", err)
	}
}
