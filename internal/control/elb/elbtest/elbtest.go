// Package elbtest builds what the tests of the families above the load balancers
// (endpoints, published, ec2tags) start from: the network and load balancer
// operations over an embedded store, and an account's VPC, subnets and network
// load balancer made through them. Test support only: no non-test code imports
// it.
package elbtest

import (
	"context"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/elb"
	"strait/internal/control/network"
	"strait/internal/control/network/nettest"
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

// VPC creates a VPC of acct with the given /16 CIDR and a /24 subnet in each of
// the zones (see nettest.VPC).
func (s Stack) VPC(t testing.TB, acct, cidr string, zones ...string) (model.Vpc, []model.Subnet) {
	t.Helper()
	return nettest.VPC(t, s.Net, acct, cidr, zones...)
}

// NLB creates an internal network load balancer of acct named name with a node
// in each subnet.
func (s Stack) NLB(t testing.TB, acct, name string, subnets []model.Subnet) model.LoadBalancer {
	t.Helper()
	return controltest.Must(s.ELB.CreateLoadBalancer(context.Background(), acct, elb.CreateLoadBalancerInput{
		Name: name, Type: elb.LBTypeNetwork, Scheme: elb.LBSchemeInternal, Subnets: nettest.IDs(subnets),
	}))(t)
}
