package status

import (
	"context"
	"strings"
	"testing"
	"time"

	"strait/internal/control/elb"
	"strait/internal/model"
)

// testTargetGroup creates, in a new VPC, an IP target group on TCP:3306 with the
// target 10.0.1.10 registered and, when used, a load balancer with a listener
// forwarding to it.
func testTargetGroup(t *testing.T, c *Status, used bool) model.TargetGroup {
	t.Helper()
	ctx := context.Background()
	sn := testSubnet(t, c)
	tg, err := c.CreateTargetGroup(ctx, testAcct, elb.CreateTargetGroupInput{Name: "db", Protocol: elb.ProtocolTCP, Port: 3306, VpcID: sn.VpcID, TargetType: elb.TargetTypeIP})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, []elb.TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if used {
		lb, err := c.CreateLoadBalancer(ctx, testAcct, elb.CreateLoadBalancerInput{Name: "db", Type: "network", Scheme: "internal", Subnets: []string{sn.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateListener(ctx, testAcct, elb.CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: elb.ProtocolTCP, Port: 3306,
			Actions: []elb.ListenerAction{{Type: "forward", TargetGroupARN: tg.ARN}}}); err != nil {
			t.Fatal(err)
		}
	}
	tg, err = c.TargetGroup(ctx, testAcct, tg.ARN)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// testHealth is DescribeTargetHealth's answer for the registered targets.
func testHealth(t *testing.T, c *Status, arn string) []elb.TargetHealthInfo {
	t.Helper()
	out, err := c.DescribeTargetHealth(context.Background(), testAcct, arn, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeregisteredTargetsDrain checks that a deregistered target of a used group
// drains for the deregistration delay, that registering it again cancels that,
// and that Settle removes it (and its health) once the delay is over.
func TestDeregisteredTargetsDrain(t *testing.T) {
	c, clock := newTestControl(t)
	ctx := context.Background()
	tg := testTargetGroup(t, c, true)
	target := []elb.TargetInput{{ID: "10.0.1.10"}}
	if err := c.SetTargetHealth(ctx, tg.ARN, "10.0.1.10", 3306, model.TargetHealth{State: model.TargetHealthy}); err != nil {
		t.Fatal(err)
	}

	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, target); err != nil {
		t.Fatal(err)
	}
	h := testHealth(t, c, tg.ARN)
	want := model.TargetHealth{State: model.TargetDraining, Reason: model.ReasonDeregistrationInProgress, Description: "Target deregistration is in progress"}
	if len(h) != 1 || h[0].Health != want || !h[0].Target.DrainingUntil.Equal(clock.Now().Add(300*time.Second)) {
		t.Fatalf("right after deregistering: %+v", h)
	}
	// Deregistering again neither extends the delay nor writes.
	rev, _ := c.Store().Rev(ctx)
	clock.Advance(10 * time.Second)
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, target); err != nil {
		t.Fatal(err)
	}
	if now, _ := c.Store().Rev(ctx); now != rev {
		t.Errorf("deregistering a draining target again wrote to the store")
	}

	// Registering it again cancels the deregistration; it keeps its health.
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, target); err != nil {
		t.Fatal(err)
	}
	if h := testHealth(t, c, tg.ARN); len(h) != 1 || h[0].Health.State != model.TargetHealthy || h[0].Target.Draining() {
		t.Fatalf("registered again: %+v", h)
	}

	// Deregistered for good: gone once the delay is over, health and all.
	if _, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []elb.ELBAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "30"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, target); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * time.Second)
	settleQuietly(t, c, NoDataplane{})
	if h := testHealth(t, c, tg.ARN); len(h) != 1 || h[0].Health.State != model.TargetDraining {
		t.Fatalf("before the delay is over: %+v", h)
	}
	clock.Advance(time.Second)
	settleQuietly(t, c, NoDataplane{})
	if h := testHealth(t, c, tg.ARN); len(h) != 0 {
		t.Fatalf("after the delay: %+v", h)
	}
	if observed, _ := c.ObservedHealth(ctx, tg.ARN); len(observed) != 0 {
		t.Errorf("health records left: %v", observed)
	}
}

// TestDeregisterFromUnusedGroup checks that a group no listener uses drops a
// deregistered target at once, as does a delay of 0.
func TestDeregisterFromUnusedGroup(t *testing.T) {
	c, _ := newTestControl(t)
	ctx := context.Background()
	tg := testTargetGroup(t, c, false)
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, []elb.TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if h := testHealth(t, c, tg.ARN); len(h) != 0 {
		t.Fatalf("unused group after deregistering: %+v", h)
	}
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, []elb.TargetInput{{ID: "10.0.1.10"}}); err == nil {
		t.Errorf("deregistering a target that is not registered succeeded")
	}
}

// TestSetTargetHealth checks that the data plane's reports are written only for
// registered targets and only when they change.
func TestSetTargetHealth(t *testing.T) {
	c, clock := newTestControl(t)
	ctx := context.Background()
	tg := testTargetGroup(t, c, true)
	if h := testHealth(t, c, tg.ARN); h[0].Health.State != model.TargetInitial {
		t.Fatalf("before any report: %+v", h)
	}
	unhealthy := model.TargetHealth{State: model.TargetUnhealthy, Reason: model.ReasonTimeout, Description: "Request timed out"}
	if err := c.SetTargetHealth(ctx, tg.ARN, "10.0.1.10", 3306, unhealthy); err != nil {
		t.Fatal(err)
	}
	h := testHealth(t, c, tg.ARN)
	if h[0].Health.State != model.TargetUnhealthy || h[0].Health.Reason != model.ReasonTimeout || !h[0].Health.Since.Equal(clock.Now()) {
		t.Fatalf("after an unhealthy report: %+v", h)
	}
	rev, _ := c.Store().Rev(ctx)
	clock.Advance(time.Minute)
	for _, report := range []struct {
		id   string
		port int32
		arn  string
	}{
		{"10.0.1.10", 3306, tg.ARN}, // the same state again
		{"10.0.1.11", 3306, tg.ARN}, // not registered
		{"10.0.1.10", 3307, tg.ARN}, // another port
		{"10.0.1.10", 3306, strings.Replace(tg.ARN, model.ARNResourceID(tg.ARN), "0123456789abcdef", 1)}, // another group
	} {
		if err := c.SetTargetHealth(ctx, report.arn, report.id, report.port, unhealthy); err != nil {
			t.Fatal(err)
		}
	}
	if now, _ := c.Store().Rev(ctx); now != rev {
		t.Errorf("reports that change nothing wrote to the store")
	}
	if err := c.SetTargetHealth(ctx, tg.ARN, "10.0.1.10", 3306, model.TargetHealth{State: model.TargetHealthy}); err != nil {
		t.Fatal(err)
	}
	if h := testHealth(t, c, tg.ARN); h[0].Health.State != model.TargetHealthy || !h[0].Health.Since.Equal(clock.Now()) {
		t.Errorf("after a healthy report: %+v", h)
	}
}
