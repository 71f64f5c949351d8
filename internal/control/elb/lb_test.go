package elb

import (
	"context"
	"strings"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/network"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
	"strait/internal/store"
)

// A network load balancer gets one node in each of its subnets: a
// requester-managed interface with the subnet's next address. Asking again with
// the same settings returns it; other settings under its name are a duplicate.
// Deleting it frees its nodes' addresses.
func TestCreateLoadBalancer(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a", "us-east-1b")
	in := CreateLoadBalancerInput{Name: "db", Type: LBTypeNetwork, Scheme: LBSchemeInternal,
		SubnetMappings: []SubnetMapping{{SubnetID: subnets[0].ID}, {SubnetID: subnets[1].ID, PrivateIPv4: "10.0.2.50"}},
		Tags:           []ELBTag{{Key: "team", Value: "data"}}}
	lb, err := c.CreateLoadBalancer(ctx, testAcct, in)
	if err != nil {
		t.Fatal(err)
	}
	if lb.State != model.LBStateProvisioning || lb.VpcID != v.ID || lb.Scheme != LBSchemeInternal || lb.IPAddressType != "ipv4" ||
		!strings.HasPrefix(lb.DNSName, "internal-db-") || !strings.HasSuffix(lb.DNSName, ".elb.us-east-1.amazonaws.com") ||
		lb.Tags["team"] != "data" || lb.Attributes[attrCrossZone] != "false" || !lb.Created.Equal(testNow) {
		t.Fatalf("load balancer %+v", lb)
	}
	if len(lb.Nodes) != 2 || lb.Nodes[0].AZ != "us-east-1a" || lb.Nodes[0].PrivateIP != "10.0.1.4" ||
		lb.Nodes[1].AZ != "us-east-1b" || lb.Nodes[1].PrivateIP != "10.0.2.50" {
		t.Fatalf("nodes %+v", lb.Nodes)
	}
	for _, n := range lb.Nodes {
		eni := controltest.Must(core.Get[model.NetworkInterface](ctx, c.Store(), model.KindENI, n.ENIID))(t)
		if eni.InterfaceType != model.ENITypeNLB || !eni.RequesterManaged || eni.AttachedTo != lb.ARN || eni.PrivateIP != n.PrivateIP || eni.Owner != testAcct {
			t.Fatalf("node interface %+v", eni)
		}
	}
	same, err := c.CreateLoadBalancer(ctx, testAcct, in)
	if err != nil || same.ARN != lb.ARN {
		t.Fatalf("asking again: %s (%v), want %s", same.ARN, err, lb.ARN)
	}
	in.Scheme = LBSchemeInternetFace
	in.SubnetMappings = []SubnetMapping{{SubnetID: subnets[0].ID}}
	_, err = c.CreateLoadBalancer(ctx, testAcct, in)
	controltest.WantError(t, "the name with other settings", err, model.ErrDuplicate, model.KindLoadBalancer, "")
	if got := controltest.Must(c.LoadBalancersByName(ctx, testAcct, []string{"db"}))(t); len(got) != 1 || got[0].ARN != lb.ARN {
		t.Fatalf("by name: %+v", got)
	}
	_, err = c.LoadBalancersByName(ctx, testAcct, []string{"db", "nope"})
	controltest.WantError(t, "a missing name", err, model.ErrNotFound, model.KindLoadBalancer, "")
	_, err = c.LoadBalancer(ctx, "222222222222", lb.ARN)
	controltest.WantError(t, "another account's load balancer", err, model.ErrNotFound, model.KindLoadBalancer, "")

	if err := c.DeleteLoadBalancer(ctx, testAcct, lb.ARN); err != nil {
		t.Fatal(err)
	}
	for _, sn := range subnets {
		if got := controltest.Must(c.net.Subnet(ctx, testAcct, sn.ID))(t); network.AvailableIPs(got) != 251 {
			t.Fatalf("subnet %s has %d free addresses after the deletion, want 251", sn.ID, network.AvailableIPs(got))
		}
	}
	if enis := controltest.Must(c.net.NetworkInterfaces(ctx, testAcct))(t); len(enis) != 0 {
		t.Fatalf("interfaces left: %+v", enis)
	}
	if err := c.DeleteLoadBalancer(ctx, testAcct, lb.ARN); err != nil {
		t.Fatalf("deleting it again: %v, want success as in AWS", err)
	}
	// The name is free again.
	if _, err := c.CreateLoadBalancer(ctx, testAcct, in); err != nil {
		t.Fatalf("the name after the deletion: %v", err)
	}
}

// CreateLoadBalancer refuses what Strait's network load balancers cannot be.
func TestCreateLoadBalancerRefused(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, subnets := testVPC(t, c, "us-east-1a", "us-east-1a", "us-east-1b")
	_, other := nettest.VPC(t, c.net, testAcct, "10.1.0.0/16", "us-east-1c")
	ok := CreateLoadBalancerInput{Name: "lb", Type: LBTypeNetwork, Subnets: []string{subnets[0].ID}}
	for _, tc := range []struct {
		what   string
		change func(*CreateLoadBalancerInput)
		err    error
		kind   string
		reason model.Reason
	}{
		{"no type (application)", func(in *CreateLoadBalancerInput) { in.Type = "" }, model.ErrUnsupported, "", model.ReasonConfiguration},
		{"type gateway", func(in *CreateLoadBalancerInput) { in.Type = "gateway" }, model.ErrUnsupported, "", model.ReasonConfiguration},
		{"a bad scheme", func(in *CreateLoadBalancerInput) { in.Scheme = "public" }, model.ErrInvalid, "", model.ReasonScheme},
		{"dualstack", func(in *CreateLoadBalancerInput) { in.IPAddressType = "dualstack" }, model.ErrUnsupported, "", model.ReasonConfiguration},
		{"an internal- name", func(in *CreateLoadBalancerInput) { in.Name = "internal-lb" }, model.ErrInvalid, "", ""},
		{"a name with a dot", func(in *CreateLoadBalancerInput) { in.Name = "l.b" }, model.ErrInvalid, "", ""},
		{"no subnet", func(in *CreateLoadBalancerInput) { in.Subnets = nil }, model.ErrInvalid, "", ""},
		{"two subnets of one zone", func(in *CreateLoadBalancerInput) { in.Subnets = []string{subnets[0].ID, subnets[1].ID} }, model.ErrInvalid, "", model.ReasonConfiguration},
		{"subnets of two VPCs", func(in *CreateLoadBalancerInput) { in.Subnets = []string{subnets[2].ID, other[0].ID} }, model.ErrInvalid, "", model.ReasonConfiguration},
		{"an address on an internet-facing one", func(in *CreateLoadBalancerInput) {
			in.Subnets, in.SubnetMappings = nil, []SubnetMapping{{SubnetID: subnets[0].ID, PrivateIPv4: "10.0.1.9"}}
		}, model.ErrInvalid, "", model.ReasonConfiguration},
		{"an address outside the subnet", func(in *CreateLoadBalancerInput) {
			in.Scheme, in.Subnets, in.SubnetMappings = LBSchemeInternal, nil, []SubnetMapping{{SubnetID: subnets[0].ID, PrivateIPv4: "10.0.2.9"}}
		}, model.ErrInvalid, "", model.ReasonConfiguration},
		{"another account's subnet", func(in *CreateLoadBalancerInput) { in.Subnets = []string{"subnet-0123456789abcdef0"} }, model.ErrNotFound, model.KindSubnet, ""},
		{"six security groups", func(in *CreateLoadBalancerInput) {
			in.SecurityGroups = []string{"sg-00000001", "sg-00000002", "sg-00000003", "sg-00000004", "sg-00000005", "sg-00000006"}
		}, model.ErrInvalid, model.KindSecurityGroup, ""},
	} {
		in := ok
		tc.change(&in)
		_, err := c.CreateLoadBalancer(ctx, testAcct, in)
		controltest.WantError(t, tc.what, err, tc.err, tc.kind, tc.reason)
	}
	if lbs := controltest.Must(c.LoadBalancers(ctx, testAcct))(t); len(lbs) != 0 {
		t.Fatalf("refused requests left %+v", lbs)
	}
	if enis := controltest.Must(c.net.NetworkInterfaces(ctx, testAcct))(t); len(enis) != 0 {
		t.Fatalf("refused requests left interfaces %+v", enis)
	}
}

// A load balancer with deletion protection, or one an endpoint service
// publishes, is not deleted.
func TestDeleteLoadBalancerRefused(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, subnets := testVPC(t, c, "us-east-1a")
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets)}))(t)
	if _, err := c.ModifyLoadBalancerAttributes(ctx, testAcct, lb.ARN, []ELBAttribute{{Key: attrDeletionProtection, Value: "true"}}); err != nil {
		t.Fatal(err)
	}
	err := c.DeleteLoadBalancer(ctx, testAcct, lb.ARN)
	controltest.WantError(t, "deleting a protected load balancer", err, model.ErrIncorrectState, "", model.ReasonNotPermitted)
	if _, err := c.ModifyLoadBalancerAttributes(ctx, testAcct, lb.ARN, []ELBAttribute{{Key: attrDeletionProtection, Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	// The endpoints family records the service that publishes a load balancer
	// under LBServiceKey, in the service's transaction.
	if err := c.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(LBServiceKey(model.ARNResourceID(lb.ARN)), "vpce-svc-0123456789abcdef0")
	}); err != nil {
		t.Fatal(err)
	}
	if svc := controltest.Must(c.LoadBalancerService(ctx, lb.ARN))(t); svc != "vpce-svc-0123456789abcdef0" {
		t.Fatalf("LoadBalancerService = %q", svc)
	}
	err = c.DeleteLoadBalancer(ctx, testAcct, lb.ARN)
	controltest.WantError(t, "deleting a published load balancer", err, model.ErrInUse, model.KindLoadBalancer, "")
	err = c.DeleteLoadBalancer(ctx, testAcct, "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/tg/0123456789abcdef")
	controltest.WantError(t, "a target group ARN", err, model.ErrInvalid, "", "")
	if _, err := c.LoadBalancer(ctx, testAcct, lb.ARN); err != nil {
		t.Fatalf("the refused deletions removed the load balancer: %v", err)
	}
}
