package elb

import (
	"context"
	"slices"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
)

func i32(n int32) *int32 { return &n }

// A target group gets the NLB health check defaults; asking again with the same
// settings returns it, other settings under its name are a duplicate.
func TestCreateTargetGroup(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, _ := testVPC(t, c)
	in := CreateTargetGroupInput{Name: "db", Protocol: ProtocolTCP, Port: 3306, VpcID: v.ID, TargetType: TargetTypeIP}
	tg, err := c.CreateTargetGroup(ctx, testAcct, in)
	if err != nil {
		t.Fatal(err)
	}
	want := model.HealthCheck{Enabled: true, Protocol: "TCP", Port: "traffic-port", IntervalSeconds: 30, TimeoutSeconds: 10, HealthyThreshold: 5, UnhealthyThreshold: 2}
	if tg.HealthCheck != want || tg.IPAddressType != "ipv4" || tg.Attributes[attrDeregDelay] != "300" || tg.Attributes[attrPreserveClientIP] != "false" {
		t.Fatalf("target group %+v", tg)
	}
	if same, err := c.CreateTargetGroup(ctx, testAcct, in); err != nil || same.ARN != tg.ARN {
		t.Fatalf("asking again: %s (%v), want %s", same.ARN, err, tg.ARN)
	}
	in.Port = 3307
	_, err = c.CreateTargetGroup(ctx, testAcct, in)
	controltest.WantError(t, "the name with another port", err, model.ErrDuplicate, model.KindTargetGroup, "")
	for _, bad := range []struct {
		what   string
		change func(*CreateTargetGroupInput)
	}{
		{"UDP", func(in *CreateTargetGroupInput) { in.Protocol = "UDP" }},
		{"port 0", func(in *CreateTargetGroupInput) { in.Port = 0 }},
		{"port 65536", func(in *CreateTargetGroupInput) { in.Port = 65536 }},
		{"target type lambda", func(in *CreateTargetGroupInput) { in.TargetType = "lambda" }},
		{"an unknown VPC", func(in *CreateTargetGroupInput) { in.VpcID = "vpc-0123456789abcdef0" }},
		{"health checks off", func(in *CreateTargetGroupInput) { no := false; in.HealthCheck.Enabled = &no }},
		{"interval 4", func(in *CreateTargetGroupInput) { in.HealthCheck.IntervalSeconds = i32(4) }},
		{"timeout over interval", func(in *CreateTargetGroupInput) {
			in.HealthCheck.IntervalSeconds, in.HealthCheck.TimeoutSeconds = i32(10), i32(11)
		}},
		{"a TCP check with a path", func(in *CreateTargetGroupInput) { in.HealthCheck.Path = "/health" }},
		{"matcher 600", func(in *CreateTargetGroupInput) { in.HealthCheck.Protocol, in.HealthCheck.Matcher = "HTTP", "200-600" }},
		{"health check port 0", func(in *CreateTargetGroupInput) { in.HealthCheck.Port = "0" }},
	} {
		in := CreateTargetGroupInput{Name: "other", Protocol: ProtocolTCP, Port: 80, VpcID: v.ID}
		bad.change(&in)
		_, err := c.CreateTargetGroup(ctx, testAcct, in)
		controltest.WantError(t, bad.what, err, model.ErrInvalid, "", "")
	}
	if tgs := controltest.Must(c.TargetGroups(ctx, testAcct))(t); len(tgs) != 1 {
		t.Fatalf("refused requests left target groups: %d", len(tgs))
	}
	// An HTTP check gets the HTTP defaults; changing it back to TCP drops them.
	hc, err := c.ModifyTargetGroup(ctx, testAcct, tg.ARN, HealthCheckInput{Protocol: "HTTP", Path: "/ping", Matcher: "200,204"})
	if err != nil || hc.HealthCheck.Path != "/ping" || hc.HealthCheck.Matcher != "200,204" || hc.HealthCheck.TimeoutSeconds != 10 {
		t.Fatalf("an HTTP check: %+v (%v)", hc.HealthCheck, err)
	}
	hc, err = c.ModifyTargetGroup(ctx, testAcct, tg.ARN, HealthCheckInput{Protocol: "TCP", IntervalSeconds: i32(10)})
	if err != nil || hc.HealthCheck.Path != "" || hc.HealthCheck.Matcher != "" || hc.HealthCheck.IntervalSeconds != 10 {
		t.Fatalf("back to TCP: %+v (%v)", hc.HealthCheck, err)
	}
	_, err = c.ModifyTargetGroup(ctx, testAcct, tg.ARN, HealthCheckInput{HealthyThreshold: i32(11)})
	controltest.WantError(t, "healthy threshold 11", err, model.ErrInvalid, "", "")
}

// A listener forwards to a target group of its load balancer's VPC that no other
// load balancer uses; a port holds one listener. A target group a listener uses
// cannot be deleted; once the listener is gone it can.
func TestListeners(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a")
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "a", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets)}))(t)
	lb2 := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "b", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets)}))(t)
	tg := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "tg", Protocol: ProtocolTCP, Port: 3306, VpcID: v.ID, TargetType: TargetTypeIP}))(t)
	tg2 := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "tg2", Protocol: ProtocolTCP, Port: 3306, VpcID: v.ID, TargetType: TargetTypeIP}))(t)
	v2, _ := nettest.VPC(t, c.net, testAcct, "10.1.0.0/16")
	far := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "far", Protocol: ProtocolTCP, Port: 3306, VpcID: v2.ID}))(t)
	forward := func(arn string) []ListenerAction { return []ListenerAction{{Type: "forward", TargetGroupARN: arn}} }

	l, err := c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 3306, Actions: forward(tg.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	if l.LoadBalancerARN != lb.ARN || l.Port != 3306 || len(l.Actions) != 1 || l.Actions[0].TargetGroupARN != tg.ARN || lbARNOfListener(l.ARN) != lb.ARN {
		t.Fatalf("listener %+v", l)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t); !slices.Equal(got.Listeners, []string{l.ARN}) {
		t.Fatalf("the target group's listeners: %v", got.Listeners)
	}
	if got := controltest.Must(c.TargetGroupsOfLoadBalancer(ctx, testAcct, lb.ARN))(t); len(got) != 1 || got[0].ARN != tg.ARN {
		t.Fatalf("target groups of the load balancer: %+v", got)
	}
	if same, err := c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 3306, Actions: forward(tg.ARN)}); err != nil || same.ARN != l.ARN {
		t.Fatalf("the same listener again: %s (%v), want %s", same.ARN, err, l.ARN)
	}
	_, err = c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 3306, Actions: forward(tg2.ARN)})
	controltest.WantError(t, "another listener on the port", err, model.ErrDuplicate, model.KindListener, "")
	_, err = c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 3306, Actions: forward(tg.ARN)})
	controltest.WantError(t, "a target group of another load balancer", err, model.ErrLimit, "", model.ReasonTargetGroupAssociations)
	_, err = c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 3306, Actions: forward(far.ARN)})
	controltest.WantError(t, "a target group of another VPC", err, model.ErrInvalid, "", model.ReasonConfiguration)
	for _, bad := range []struct {
		what string
		in   CreateListenerInput
	}{
		{"TLS", CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: "TLS", Port: 443, Actions: forward(tg2.ARN)}},
		{"port 70000", CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 70000, Actions: forward(tg2.ARN)}},
		{"two target groups", CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 80,
			Actions: []ListenerAction{{Type: "forward", ForwardTargetGroups: []string{tg2.ARN, far.ARN}}}}},
		{"a redirect", CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 80, Actions: []ListenerAction{{Type: "redirect"}}}},
		{"a certificate", CreateListenerInput{LoadBalancerARN: lb2.ARN, Protocol: ProtocolTCP, Port: 80, Actions: forward(tg2.ARN), TLS: ListenerTLS{SSLPolicy: "p"}}},
	} {
		_, err := c.CreateListener(ctx, testAcct, bad.in)
		controltest.WantError(t, bad.what, err, model.ErrInvalid, "", "")
	}
	if ls := controltest.Must(c.Listeners(ctx, testAcct, lb2.ARN))(t); len(ls) != 0 {
		t.Fatalf("refused requests left listeners on b: %+v", ls)
	}

	err = c.DeleteTargetGroup(ctx, testAcct, tg.ARN)
	controltest.WantError(t, "deleting a target group in use", err, model.ErrInUse, model.KindTargetGroup, "")
	// Moving the listener to tg2 frees tg.
	moved, err := c.ModifyListener(ctx, testAcct, l.ARN, ModifyListenerInput{Port: 3307, Actions: forward(tg2.ARN)})
	if err != nil || moved.Port != 3307 || moved.Actions[0].TargetGroupARN != tg2.ARN {
		t.Fatalf("modifying the listener: %+v (%v)", moved, err)
	}
	if err := c.DeleteTargetGroup(ctx, testAcct, tg.ARN); err != nil {
		t.Fatalf("deleting the freed target group: %v", err)
	}
	// Port 3306 is free again, 3307 is taken.
	if _, err := c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 3307, Actions: forward(tg2.ARN)}); err != nil {
		// The same port, protocol and group: the existing listener.
		t.Fatalf("the moved listener again: %v", err)
	}
	if err := c.DeleteListener(ctx, testAcct, l.ARN); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg2.ARN))(t); got.Listeners != nil {
		t.Fatalf("tg2 still lists listeners %v", got.Listeners)
	}
	if got := controltest.Must(c.LoadBalancer(ctx, testAcct, lb.ARN))(t); got.Listeners != nil {
		t.Fatalf("the load balancer still lists listeners %v", got.Listeners)
	}
	_, err = c.Listener(ctx, testAcct, l.ARN)
	controltest.WantError(t, "the deleted listener", err, model.ErrNotFound, model.KindListener, "")
	if err := c.DeleteTargetGroup(ctx, testAcct, tg2.ARN); err != nil {
		t.Fatal(err)
	}
}

// A load balancer has at most 50 listeners.
func TestListenerLimit(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a")
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "a", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets)}))(t)
	tg := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "tg", Protocol: ProtocolTCP, Port: 80, VpcID: v.ID}))(t)
	for p := range int32(MaxListeners) {
		if _, err := c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 1000 + p,
			Actions: []ListenerAction{{Type: "forward", TargetGroupARN: tg.ARN}}}); err != nil {
			t.Fatalf("listener %d: %v", p+1, err)
		}
	}
	_, err := c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 80,
		Actions: []ListenerAction{{Type: "forward", TargetGroupARN: tg.ARN}}})
	controltest.WantError(t, "listener 51", err, model.ErrLimit, "", model.ReasonTooManyListeners)
}
