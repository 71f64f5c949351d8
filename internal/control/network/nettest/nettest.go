// Package nettest makes, for the tests of the families above the network (elb,
// endpoints, published, ec2tags), an account's VPC and subnets through the
// network operations. Test support only: no non-test code imports it.
package nettest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/network"
	"strait/internal/model"
)

// VPC creates a VPC of acct with the given /16 CIDR and one /24 subnet in each
// of the given zones, the i-th at the VPC's (i+1)-th /24 (10.0.1.0/24, …).
func VPC(t testing.TB, net *network.Network, acct, cidr string, zones ...string) (model.Vpc, []model.Subnet) {
	t.Helper()
	ctx := context.Background()
	v := controltest.Must(net.CreateVpc(ctx, acct, network.CreateVpcInput{CIDR: cidr}))(t)
	base := netip.MustParsePrefix(cidr).Addr().As4()
	var subnets []model.Subnet
	for i, z := range zones {
		in := network.CreateSubnetInput{VpcID: v.ID, CIDR: fmt.Sprintf("%d.%d.%d.0/24", base[0], base[1], i+1), AZ: z}
		subnets = append(subnets, controltest.Must(net.CreateSubnet(ctx, acct, in))(t))
	}
	return v, subnets
}

// IDs lists the subnets' IDs.
func IDs(subnets []model.Subnet) []string {
	var ids []string
	for _, sn := range subnets {
		ids = append(ids, sn.ID)
	}
	return ids
}
