package reconcile_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/reconcile"
	"strait/internal/reconcile/status"
	"strait/internal/testenv"
)

// A listener's tcp.idle_timeout.seconds (ModifyListenerAttributes, see
// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html)
// is the idle timeout the data plane gets for that listener: 350 s until it is set.
func TestDesiredListenerIdleTimeout(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	vpc, subnets := env.Network(provider, testenv.Zones(1)...)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("idle"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("idle"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}})
	if err != nil {
		t.Fatal(err)
	}
	idle := func() time.Duration {
		t.Helper()
		snap, err := status.New(ctl).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := reconcile.Desired(snap, ctl)
		if len(st.LoadBalancers) != 1 || len(st.LoadBalancers[0].Listeners) != 1 {
			t.Fatalf("desired load balancers: %+v", st.LoadBalancers)
		}
		return st.LoadBalancers[0].Listeners[0].IdleTimeout
	}
	if got := idle(); got != 350*time.Second {
		t.Errorf("idle timeout of a new listener: %v, want 350s", got)
	}
	if _, err := elb.ModifyListenerAttributes(ctx, &elbv2.ModifyListenerAttributesInput{ListenerArn: ln.Listeners[0].ListenerArn,
		Attributes: []elbtypes.ListenerAttribute{{Key: aws.String("tcp.idle_timeout.seconds"), Value: aws.String("6000")}}}); err != nil {
		t.Fatal(err)
	}
	if got := idle(); got != 6000*time.Second {
		t.Errorf("idle timeout after setting 6000 s: %v", got)
	}
}
