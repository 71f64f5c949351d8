package network

import (
	"context"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

// A VPC comes with its default security group (all traffic from itself in, all
// out), route table and network ACL, and only its owner sees it.
func TestCreateVpc(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v, err := c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.1.2.3/16", Tags: model.Tags{"Name": "main"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.CIDR != "10.1.0.0/16" || v.State != "available" || v.InstanceTenancy != "default" || !v.EnableDNSSupport || v.EnableDNSHostnames || v.Tags["Name"] != "main" {
		t.Fatalf("VPC %+v", v)
	}
	for id, prefix := range map[string]string{v.ID: model.PrefixVpc, v.DefaultSecurityGroupID: model.PrefixSG, v.MainRouteTableID: model.PrefixRouteTable, v.DefaultNetworkACLID: model.PrefixACL} {
		if !model.ValidID(prefix, id) {
			t.Errorf("ID %q is not a %s- ID", id, prefix)
		}
	}
	g, err := c.SecurityGroup(ctx, testAcct, v.DefaultSecurityGroupID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "default" || g.VpcID != v.ID || len(g.Rules) != 2 ||
		g.Rules[0].Egress || g.Rules[0].GroupID != g.ID || !g.Rules[1].Egress || g.Rules[1].CIDR != "0.0.0.0/0" {
		t.Fatalf("default group %+v", g)
	}
	_, err = c.Vpc(ctx, "222222222222", v.ID)
	controltest.WantError(t, "another account's VPC", err, model.ErrNotFound, model.KindVpc, "")
	_, err = c.Vpc(ctx, testAcct, "vpc-nothex")
	controltest.WantError(t, "a malformed VPC ID", err, model.ErrInvalid, model.KindVpc, "")
	rts, err := c.RouteTables(ctx, testAcct)
	if err != nil || len(rts) != 1 || rts[0].ID != v.MainRouteTableID || rts[0].VpcCIDR != v.CIDR || rts[0].MainAssoID != v.MainRouteAssocID {
		t.Fatalf("route tables %+v (%v)", rts, err)
	}
	if other, err := c.Vpcs(ctx, "222222222222"); err != nil || len(other) != 0 {
		t.Fatalf("another account lists %+v (%v)", other, err)
	}
}

// CreateVpc takes /16 to /28 ranges only.
func TestCreateVpcRange(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	// Outside /16–/28 is InvalidVpc.Range for AWS (ReasonVpcRange); not a CIDR at all
	// is a plain invalid value.
	for bad, reason := range map[string]model.Reason{"10.0.0.0/15": model.ReasonVpcRange, "10.0.0.0/29": model.ReasonVpcRange,
		"10.0.0.0": "", "fd00::/56": "", "": ""} {
		_, err := c.CreateVpc(context.Background(), testAcct, CreateVpcInput{CIDR: bad})
		controltest.WantError(t, "VPC range "+bad, err, model.ErrInvalid, "", reason)
	}
	if vs, err := c.Vpcs(context.Background(), testAcct); err != nil || len(vs) != 0 {
		t.Fatalf("refused ranges left VPCs %+v (%v)", vs, err)
	}
}

// A VPC with a subnet or a security group of its own cannot be deleted; once they
// are gone it can, with its default group, and its ID is then unknown.
func TestDeleteVpcDependencies(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	sn := controltest.Must(c.CreateSubnet(ctx, testAcct, CreateSubnetInput{VpcID: v.ID, CIDR: "10.0.1.0/24"}))(t)
	g := controltest.Must(c.CreateSecurityGroup(ctx, testAcct, CreateSecurityGroupInput{Name: "web", Description: "web", VpcID: v.ID}))(t)
	err := c.DeleteVpc(ctx, testAcct, v.ID)
	controltest.WantError(t, "deleting a VPC with a subnet", err, model.ErrInUse, model.KindVpc, "")
	if err := c.DeleteSubnet(ctx, testAcct, sn.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteVpc(ctx, testAcct, v.ID)
	controltest.WantError(t, "deleting a VPC with a security group", err, model.ErrInUse, model.KindVpc, "")
	if err := c.DeleteSecurityGroup(ctx, testAcct, g.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteVpc(ctx, "222222222222", v.ID)
	controltest.WantError(t, "another account deleting the VPC", err, model.ErrNotFound, model.KindVpc, "")
	if err := c.DeleteVpc(ctx, testAcct, v.ID); err != nil {
		t.Fatalf("deleting the emptied VPC: %v", err)
	}
	_, err = c.Vpc(ctx, testAcct, v.ID)
	controltest.WantError(t, "the deleted VPC", err, model.ErrNotFound, model.KindVpc, "")
	_, err = c.SecurityGroup(ctx, testAcct, v.DefaultSecurityGroupID)
	controltest.WantError(t, "the deleted VPC's default group", err, model.ErrNotFound, model.KindSecurityGroup, "")
	err = c.DeleteVpc(ctx, testAcct, v.ID)
	controltest.WantError(t, "deleting it again", err, model.ErrNotFound, model.KindVpc, "")
}

// ModifyVpcAttribute changes one DNS attribute at a time, and DNS host names need
// DNS support.
func TestModifyVpcAttribute(t *testing.T) {
	t.Parallel()
	c := newTestNetwork(t)
	ctx := context.Background()
	v := controltest.Must(c.CreateVpc(ctx, testAcct, CreateVpcInput{CIDR: "10.0.0.0/16"}))(t)
	yes, no := true, false
	err := c.ModifyVpcAttribute(ctx, testAcct, v.ID, VpcAttributes{})
	controltest.WantError(t, "no attribute", err, model.ErrMissing, "", "")
	err = c.ModifyVpcAttribute(ctx, testAcct, v.ID, VpcAttributes{EnableDNSSupport: &yes, EnableDNSHostnames: &yes})
	controltest.WantError(t, "two attributes", err, model.ErrInvalid, "", model.ReasonParameterCombination)
	if err := c.ModifyVpcAttribute(ctx, testAcct, v.ID, VpcAttributes{EnableDNSHostnames: &yes}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.Vpc(ctx, testAcct, v.ID))(t); !got.EnableDNSHostnames || !got.EnableDNSSupport {
		t.Fatalf("after enabling DNS host names: %+v", got)
	}
	if err := c.ModifyVpcAttribute(ctx, testAcct, v.ID, VpcAttributes{EnableDNSSupport: &no}); err != nil {
		t.Fatal(err)
	}
	err = c.ModifyVpcAttribute(ctx, testAcct, v.ID, VpcAttributes{EnableDNSHostnames: &yes})
	controltest.WantError(t, "DNS host names without DNS support", err, model.ErrInvalid, "", "")
	err = c.ModifyVpcAttribute(ctx, "222222222222", v.ID, VpcAttributes{EnableDNSSupport: &yes})
	controltest.WantError(t, "another account's VPC", err, model.ErrNotFound, model.KindVpc, "")
}
