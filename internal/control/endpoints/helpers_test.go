package endpoints

import (
	"context"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/control/elb/elbtest"
	"strait/internal/control/network"
	"strait/internal/model"
)

// The accounts of the tests: a provider publishes services, a consumer connects
// to them once admitted, a stranger is never admitted.
const (
	provider = "111111111111"
	consumer = "222222222222"
	stranger = "333333333333"
)

// testNow is the time of the tests' clock.
var testNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is the PrivateLink operations with the network and load balancer
// operations they build on.
type fixture struct {
	elbtest.Stack
	pl *PrivateLink
}

// newFixture opens a store for the test, with the clock fixed at testNow.
func newFixture(t *testing.T) fixture {
	t.Helper()
	s := elbtest.New(t, core.Config{Now: func() time.Time { return testNow }})
	return fixture{Stack: s, pl: New(s.Base, s.Net, s.ELB)}
}

// service creates, for the provider, a VPC 10.0.0.0/16 with subnets in
// us-east-1a and us-east-1b, an NLB in both, and an endpoint service of it.
func (f fixture) service(t *testing.T, in CreateServiceInput) model.EndpointService {
	t.Helper()
	_, subnets := f.VPC(t, provider, "10.0.0.0/16", "us-east-1a", "us-east-1b")
	lb := f.NLB(t, provider, "svc", subnets)
	in.NLBARNs = append(in.NLBARNs, lb.ARN)
	return controltest.Must(f.pl.CreateEndpointService(context.Background(), provider, in))(t)
}

// admit adds the principals to the provider's service.
func (f fixture) admit(t *testing.T, svc model.EndpointService, principals ...string) {
	t.Helper()
	controltest.Must(f.pl.ModifyServicePermissions(context.Background(), provider, svc.ID, principals, nil))(t)
}

// consumerVPC creates, for acct, a VPC 10.5.0.0/16 with subnets in us-east-1a,
// us-east-1b, us-east-1a again and us-east-1c (10.5.1.0/24 … 10.5.4.0/24), with
// DNS host names enabled.
func (f fixture) consumerVPC(t *testing.T, acct string) (model.Vpc, []model.Subnet) {
	t.Helper()
	v, subnets := f.VPC(t, acct, "10.5.0.0/16", "us-east-1a", "us-east-1b", "us-east-1a", "us-east-1c")
	yes := true
	if err := f.Net.ModifyVpcAttribute(context.Background(), acct, v.ID, network.VpcAttributes{EnableDNSHostnames: &yes}); err != nil {
		t.Fatal(err)
	}
	return controltest.Must(f.Net.Vpc(context.Background(), acct, v.ID))(t), subnets
}

// open creates a service that admits every account (see service) and the
// consumer's VPC (see consumerVPC).
func (f fixture) open(t *testing.T) (model.EndpointService, model.Vpc, []model.Subnet) {
	t.Helper()
	svc := f.service(t, CreateServiceInput{})
	f.admit(t, svc, "*")
	vpc, subnets := f.consumerVPC(t, consumer)
	return svc, vpc, subnets
}

// endpoint creates an interface endpoint of acct to svc in the subnets.
func (f fixture) endpoint(t *testing.T, acct string, vpc model.Vpc, svc model.EndpointService, subnets ...model.Subnet) model.Endpoint {
	t.Helper()
	in := CreateEndpointInput{Type: "Interface", VpcID: vpc.ID, ServiceName: svc.Name}
	for _, sn := range subnets {
		in.SubnetIDs = append(in.SubnetIDs, sn.ID)
	}
	return controltest.Must(f.pl.CreateEndpoint(context.Background(), acct, in))(t)
}

// itemError checks that a batch call failed for exactly one item, id, with the
// sentinel, kind and reason.
func itemError(t *testing.T, what string, failed []core.ItemError, err error, id string, sentinel error, kind string, reason model.Reason) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: the batch failed: %v", what, err)
	}
	if len(failed) != 1 || failed[0].ID != id {
		t.Fatalf("%s: failed items %+v, want only %s", what, failed, id)
	}
	controltest.WantError(t, what, failed[0].Err, sentinel, kind, reason)
}

// noItemErrors checks that a batch call succeeded for every item.
func noItemErrors(t *testing.T, what string, failed []core.ItemError, err error) {
	t.Helper()
	if err != nil || len(failed) != 0 {
		t.Fatalf("%s: failed items %+v, error %v", what, failed, err)
	}
}

// networkGroup is a security group "app" in a VPC.
func networkGroup(vpcID string) network.CreateSecurityGroupInput {
	return network.CreateSecurityGroupInput{Name: "app", Description: "app", VpcID: vpcID}
}
