// Package elbtest builds what the tests of the families above the load balancers
// (endpoints, published, ec2tags) start from: the network and load balancer
// operations over an embedded store, and an account's VPC, subnets and network
// load balancer made through them. Test support only: no non-test code imports
// it.
package elbtest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/control/network"
	"strait/internal/model"
)

// Stack is the shared base with the network and load balancer operations.
type Stack struct {
	Base *core.Base
	Net  *network.Network
	ELB  *elb.ELB
}

// New opens a store for the test and returns the operations over it.
func New(t testing.TB, cfg core.Config) Stack {
	t.Helper()
	b := core.New(controltest.OpenStore(t), cfg)
	net := network.New(b)
	return Stack{Base: b, Net: net, ELB: elb.New(b, net)}
}

// VPC creates a VPC of acct with the given /16 CIDR and one /24 subnet in each
// of the given zones, the i-th at the VPC's (i+1)-th /24 (10.0.1.0/24, …).
func (s Stack) VPC(t testing.TB, acct, cidr string, zones ...string) (model.Vpc, []model.Subnet) {
	t.Helper()
	ctx := context.Background()
	v := controltest.Must(s.Net.CreateVpc(ctx, acct, network.CreateVpcInput{CIDR: cidr}))(t)
	base := netip.MustParsePrefix(cidr).Addr().As4()
	var subnets []model.Subnet
	for i, z := range zones {
		sn := fmt.Sprintf("%d.%d.%d.0/24", base[0], base[1], i+1)
		subnets = append(subnets, controltest.Must(s.Net.CreateSubnet(ctx, acct, network.CreateSubnetInput{VpcID: v.ID, CIDR: sn, AZ: z}))(t))
	}
	return v, subnets
}

// NLB creates an internal network load balancer of acct named name with a node
// in each subnet.
func (s Stack) NLB(t testing.TB, acct, name string, subnets []model.Subnet) model.LoadBalancer {
	t.Helper()
	var ids []string
	for _, sn := range subnets {
		ids = append(ids, sn.ID)
	}
	return controltest.Must(s.ELB.CreateLoadBalancer(context.Background(), acct, elb.CreateLoadBalancerInput{
		Name: name, Type: elb.LBTypeNetwork, Scheme: elb.LBSchemeInternal, Subnets: ids,
	}))(t)
}
