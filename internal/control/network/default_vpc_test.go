package network

import (
	"context"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

// EnsureDefaultVpc creates an account's default VPC once
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): 172.31.0.0/16
// with DNS hostnames, a default /20 subnet per zone; deleted, it is not created
// again, and CreateDefaultVpc makes a new one; CreateDefaultSubnet restores a
// zone's default subnet.
func TestDefaultVpc(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	if _, ok, err := c.DefaultVpc(ctx, testAcct); err != nil || ok {
		t.Fatalf("before the first need: %v %v", ok, err)
	}
	for range 2 {
		if err := c.EnsureDefaultVpc(ctx, testAcct); err != nil {
			t.Fatal(err)
		}
	}
	v, ok, err := c.DefaultVpc(ctx, testAcct)
	if err != nil || !ok || !v.IsDefault || v.CIDR != "172.31.0.0/16" || !v.EnableDNSHostnames {
		t.Fatalf("default VPC %+v %v %v", v, ok, err)
	}
	if vs, _ := c.Vpcs(ctx, testAcct); len(vs) != 1 {
		t.Fatalf("EnsureDefaultVpc twice made %d VPCs", len(vs))
	}
	subnets, err := c.SubnetsOfVpc(ctx, v.ID)
	if err != nil || len(subnets) != 3 {
		t.Fatalf("default subnets %+v %v", subnets, err)
	}
	for _, sn := range subnets {
		if !sn.DefaultForAZ || len(sn.CIDR) == 0 || sn.CIDR[len(sn.CIDR)-3:] != "/20" {
			t.Errorf("default subnet %+v", sn)
		}
	}
	sn, err := c.DefaultSubnet(ctx, testAcct, "us-east-1b")
	if err != nil || sn.AZ != "us-east-1b" || sn.CIDR != "172.31.16.0/20" {
		t.Errorf("default subnet of us-east-1b: %+v %v", sn, err)
	}
	_, err = c.CreateDefaultVpc(ctx, testAcct)
	controltest.WantError(t, "a second default VPC", err, model.ErrDuplicate, "", model.ReasonDefaultVpcExists)
	_, err = c.CreateDefaultSubnet(ctx, testAcct, "us-east-1a")
	controltest.WantError(t, "a second default subnet in a zone", err, model.ErrDuplicate, "", model.ReasonDefaultSubnetExists)

	// Deleted (subnet b first, which CreateDefaultSubnet restores), then the VPC.
	if err := c.DeleteSubnet(ctx, testAcct, sn.ID); err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateDefaultSubnet(ctx, testAcct, "us-east-1b")
	if err != nil || again.CIDR != "172.31.16.0/20" || !again.DefaultForAZ {
		t.Fatalf("CreateDefaultSubnet: %+v %v", again, err)
	}
	subnets, _ = c.SubnetsOfVpc(ctx, v.ID)
	for _, s := range subnets {
		if err := c.DeleteSubnet(ctx, testAcct, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteVpc(ctx, testAcct, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureDefaultVpc(ctx, testAcct); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.DefaultVpc(ctx, testAcct); ok {
		t.Fatal("a deleted default VPC came back")
	}
	_, err = c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "web", Description: "web"})
	controltest.WantError(t, "a group without a VPC or a default VPC", err, model.ErrMissing, "", model.ReasonNoVpc)
	_, err = c.CreateDefaultSubnet(ctx, testAcct, "us-east-1a")
	controltest.WantError(t, "a default subnet without a default VPC", err, model.ErrMissing, "", model.ReasonNoDefaultVpc)
	nv, err := c.CreateDefaultVpc(ctx, testAcct)
	if err != nil || !nv.IsDefault || nv.ID == v.ID {
		t.Fatalf("CreateDefaultVpc: %+v %v", nv, err)
	}
	g, err := c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "web", Description: "web"})
	if err != nil || g.VpcID != nv.ID {
		t.Errorf("a group without VpcId: %+v %v", g, err)
	}
}
