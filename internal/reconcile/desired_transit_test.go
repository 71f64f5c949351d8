package reconcile_test

import (
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/agent"
	"strait/internal/model"
	"strait/internal/reconcile"
	"strait/internal/reconcile/status"
	"strait/internal/testenv"
)

// The desired state carries the kernel path's inputs: each VPC's transit
// address, each load balancer node's (in the order of its nodes, an invalid
// address where a record has none yet) and each target group's
// strait.relay.enabled as TargetGroup.Relay.
func TestDesiredTransit(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	vpc, subnets := env.Network(provider, testenv.Zones(2)...)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("transit"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("transit"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() status.Snapshot {
		t.Helper()
		snap, err := status.New(ctl).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	desired := func(snap status.Snapshot) (agent.VPC, agent.LoadBalancer, bool) {
		t.Helper()
		st := reconcile.Desired(snap, ctl)
		if len(st.LoadBalancers) != 1 || len(st.TargetGroups) != 1 {
			t.Fatalf("desired load balancers %+v, target groups %+v", st.LoadBalancers, st.TargetGroups)
		}
		for _, v := range st.VPCs {
			if v.ID == vpc {
				return v, st.LoadBalancers[0], st.TargetGroups[0].Relay
			}
		}
		t.Fatalf("desired VPCs %+v lack %s", st.VPCs, vpc)
		return agent.VPC{}, agent.LoadBalancer{}, false
	}

	snap := snapshot()
	var stored model.Vpc
	for _, v := range snap.Vpcs {
		if v.ID == vpc {
			stored = v
		}
	}
	nodes := snap.LoadBalancers[0].Nodes
	v, out, relay := desired(snap)
	if !v.TransitIP.IsValid() || v.TransitIP.String() != stored.TransitIP {
		t.Errorf("VPC transit address %v, stored %q", v.TransitIP, stored.TransitIP)
	}
	if len(out.Transit) != len(out.Nodes) || len(nodes) != 2 {
		t.Fatalf("%d transit addresses for %d nodes (%d stored)", len(out.Transit), len(out.Nodes), len(nodes))
	}
	for i, n := range nodes {
		if out.Nodes[i].IP.String() != n.PrivateIP || !out.Transit[i].IsValid() || out.Transit[i].String() != n.TransitIP {
			t.Errorf("node %d: %v transit %v, stored %s transit %s", i, out.Nodes[i].IP, out.Transit[i], n.PrivateIP, n.TransitIP)
		}
	}
	if relay {
		t.Errorf("a new target group asks for the relay")
	}

	// A record without a transit address (an earlier version's, before the
	// backfill) gives an invalid address, in its place.
	snap.LoadBalancers[0].Nodes = append([]model.LBNode(nil), nodes...)
	snap.LoadBalancers[0].Nodes[0].TransitIP = ""
	for i := range snap.Vpcs {
		snap.Vpcs[i].TransitIP = ""
	}
	v, out, _ = desired(snap)
	if v.TransitIP.IsValid() || len(out.Transit) != 2 || out.Transit[0].IsValid() || out.Transit[1] != netip.MustParseAddr(nodes[1].TransitIP) {
		t.Errorf("without transit addresses: VPC %v, nodes %v", v.TransitIP, out.Transit)
	}

	if _, err := elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tgARN,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(model.RelayAttribute), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, relay := desired(snapshot()); !relay {
		t.Errorf("a target group with %s=true does not ask for the relay", model.RelayAttribute)
	}
}
