package elb

import (
	"context"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/control/network"
	"strait/internal/control/network/nettest"
	"strait/internal/model"
)

// ipGroup creates a VPC with subnets in us-east-1a and us-east-1b, a load balancer
// with a node in the first, and an IP target group; listened says whether a
// listener forwards to the group.
func ipGroup(t *testing.T, c *ELB, listened bool) (model.Vpc, []model.Subnet, model.TargetGroup) {
	t.Helper()
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1a", "us-east-1b")
	tg := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "tg", Protocol: ProtocolTCP, Port: 3306, VpcID: v.ID, TargetType: TargetTypeIP}))(t)
	if listened {
		lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets[:1])}))(t)
		controltest.Must(c.CreateListener(ctx, testAcct, CreateListenerInput{LoadBalancerARN: lb.ARN, Protocol: ProtocolTCP, Port: 3306,
			Actions: []ListenerAction{{Type: "forward", TargetGroupARN: tg.ARN}}}))(t)
	}
	return v, subnets, controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t)
}

// health reads the state and reason DescribeTargetHealth reports for each target.
func health(t *testing.T, c *ELB, arn string) map[string]model.TargetHealth {
	t.Helper()
	out := map[string]model.TargetHealth{}
	for _, h := range controltest.Must(c.DescribeTargetHealth(context.Background(), testAcct, arn, nil))(t) {
		out[h.Target.ID] = model.TargetHealth{State: h.Health.State, Reason: h.Health.Reason}
	}
	return out
}

// IP targets in the VPC take their subnet's zone; outside it they need zone
// "all" and a private address. Their health starts initial, or unused in a
// zone the load balancer does not have.
func TestRegisterIPTargets(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, _, tg := ipGroup(t, c, true)
	err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}, {ID: "10.0.2.10", Port: 3307}, {ID: "192.168.0.5", AZ: "all"}})
	if err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t)
	want := []model.Target{{ID: "10.0.1.10", Port: 3306, AZ: "us-east-1a", Registered: testNow}, {ID: "10.0.2.10", Port: 3307, AZ: "us-east-1b", Registered: testNow},
		{ID: "192.168.0.5", Port: 3306, AZ: "all", Registered: testNow}}
	if len(got.Targets) != len(want) {
		t.Fatalf("targets %+v", got.Targets)
	}
	for i := range want {
		if got.Targets[i] != want[i] {
			t.Fatalf("target %d: %+v, want %+v", i, got.Targets[i], want[i])
		}
	}
	h := health(t, c, tg.ARN)
	if h["10.0.1.10"].State != model.TargetInitial || h["192.168.0.5"].State != model.TargetInitial ||
		h["10.0.2.10"] != (model.TargetHealth{State: model.TargetUnused, Reason: model.ReasonNotInUse}) {
		t.Fatalf("health %+v", h)
	}
	// Registering again changes nothing.
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t).Targets); n != 3 {
		t.Fatalf("%d targets after registering one again, want 3", n)
	}
	for _, bad := range []TargetInput{
		{ID: "10.0.1.11", AZ: "all"},        // in the VPC: no "all"
		{ID: "10.0.1.11", AZ: "us-east-1b"}, // in a subnet of us-east-1a
		{ID: "172.16.0.1"},                  // outside the VPC without "all"
		{ID: "8.8.8.8", AZ: "all"},          // not private
		{ID: "10.0.1.11", Port: 70000},      // port
		{ID: "fd00::1"},                     // not IPv4
		{ID: "i-0123456789abcdef0"},         // an instance in an IP group
	} {
		err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.12"}, bad})
		de := controltest.WantError(t, "target "+bad.ID+" "+bad.AZ, err, model.ErrInvalid, model.KindTarget, "")
		if de.ID != bad.ID {
			t.Fatalf("the error names %q, want %q", de.ID, bad.ID)
		}
	}
	if n := len(controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t).Targets); n != 3 {
		t.Fatalf("refused registrations added targets: %d", n)
	}
	hs := controltest.Must(c.DescribeTargetHealth(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.9.9"}}))(t)
	if len(hs) != 1 || hs[0].Health.State != model.TargetUnused || hs[0].Health.Reason != model.ReasonNotRegistered || hs[0].HealthCheckPort != "3306" {
		t.Fatalf("health of an unregistered target: %+v", hs)
	}
}

// Deregistering a target of a group a listener uses makes it drain for the
// group's delay; registering it again stops the draining. In a group no listener
// uses, or with delay 0, a target leaves at once. A target that is not
// registered cannot be deregistered.
func TestDeregisterTargets(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, _, tg := ipGroup(t, c, true)
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}, {ID: "10.0.1.11"}}); err != nil {
		t.Fatal(err)
	}
	err := c.DeregisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}, {ID: "10.0.1.99"}})
	de := controltest.WantError(t, "an unregistered target", err, model.ErrInvalid, model.KindTarget, "")
	if de.ID != "'Id=10.0.1.99,Port=3306'" {
		t.Fatalf("the error names %q", de.ID)
	}
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t)
	if len(got.Targets) != 2 || !got.Targets[0].DrainingUntil.Equal(testNow.Add(300*time.Second)) || got.Targets[1].Draining() {
		t.Fatalf("after deregistering 10.0.1.10: %+v", got.Targets)
	}
	if h := health(t, c, tg.ARN)["10.0.1.10"]; h.State != model.TargetDraining || h.Reason != model.ReasonDeregistrationInProgress {
		t.Fatalf("the draining target's health: %+v", h)
	}
	if Drained(got, got.Targets[0], testNow.Add(299*time.Second)) || !Drained(got, got.Targets[0], testNow.Add(300*time.Second)) {
		t.Fatal("Drained does not follow the deregistration delay")
	}
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t); got.Targets[0].Draining() {
		t.Fatalf("registering again did not stop the draining: %+v", got.Targets[0])
	}
	// With delay 0 the target leaves at once.
	if _, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: attrDeregDelay, Value: "0"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeregisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: "10.0.1.11", Port: 3306}}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t); len(got.Targets) != 1 || got.Targets[0].ID != "10.0.1.10" {
		t.Fatalf("after deregistering with delay 0: %+v", got.Targets)
	}

	// A group no listener uses: its targets are unused and leave at once.
	c2 := newTestELB(t)
	_, _, idle := ipGroup(t, c2, false)
	if err := c2.RegisterTargets(ctx, testAcct, idle.ARN, []TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if h := health(t, c2, idle.ARN)["10.0.1.10"]; h.State != model.TargetUnused || h.Reason != model.ReasonNotInUse {
		t.Fatalf("a target of an unused group: %+v", h)
	}
	if err := c2.DeregisterTargets(ctx, testAcct, idle.ARN, []TargetInput{{ID: "10.0.1.10"}}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c2.TargetGroup(ctx, testAcct, idle.ARN))(t); got.Targets != nil {
		t.Fatalf("the unused group keeps %+v", got.Targets)
	}
}

// Instance targets must be running instances of the caller in the group's VPC;
// they take the instance's zone.
func TestRegisterInstanceTargets(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	v, subnets := testVPC(t, c, "us-east-1b")
	_, far := nettest.VPC(t, c.net, testAcct, "10.1.0.0/16", "us-east-1a")
	tg := controltest.Must(c.CreateTargetGroup(ctx, testAcct, CreateTargetGroupInput{Name: "tg", Protocol: ProtocolTCP, Port: 80, VpcID: v.ID}))(t)
	run := func(sn model.Subnet) string {
		return controltest.Must(c.net.RunInstances(ctx, testAcct, network.RunInstancesInput{SubnetID: sn.ID, ImageID: "ami-12345678", MinCount: 1, MaxCount: 1}))(t)[0].ID
	}
	in, out, gone := run(subnets[0]), run(far[0]), run(subnets[0])
	controltest.Must(c.net.TerminateInstances(ctx, testAcct, []string{gone}))(t)
	if err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: in}}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t); len(got.Targets) != 1 || got.Targets[0].AZ != "us-east-1b" || got.Targets[0].Port != 80 {
		t.Fatalf("instance targets %+v", got.Targets)
	}
	for what, id := range map[string]string{"another VPC's instance": out, "a shutting-down instance": gone,
		"an unknown instance": "i-0123456789abcdef0", "an address": "10.0.1.5"} {
		err := c.RegisterTargets(ctx, testAcct, tg.ARN, []TargetInput{{ID: id}})
		controltest.WantError(t, what, err, model.ErrInvalid, model.KindTarget, "")
	}
	err := c.RegisterTargets(ctx, "222222222222", tg.ARN, []TargetInput{{ID: in}})
	controltest.WantError(t, "another account's group", err, model.ErrNotFound, model.KindTargetGroup, "")
}

// Load balancer and target group attributes are checked key by key and value by
// value; a refused change leaves all of them as they were.
func TestAttributes(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, subnets, tg := ipGroup(t, c, false)
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb2", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets)}))(t)
	attrs, err := c.ModifyLoadBalancerAttributes(ctx, testAcct, lb.ARN, []ELBAttribute{{Key: attrCrossZone, Value: "true"}, {Key: attrDNSRouting, Value: "availability_zone_affinity"}})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, a := range attrs {
		m[a.Key] = a.Value
	}
	if len(attrs) != 8 || m[attrCrossZone] != "true" || m[attrDNSRouting] != "availability_zone_affinity" || m[attrDeletionProtection] != "false" || attrs[0].Key > attrs[1].Key {
		t.Fatalf("attributes %+v", attrs)
	}
	for _, bad := range []struct {
		what   string
		attr   ELBAttribute
		err    error
		reason model.Reason
	}{
		{"an unknown key", ELBAttribute{Key: "idle_timeout.timeout_seconds", Value: "60"}, model.ErrInvalid, ""},
		{"cross zone yes", ELBAttribute{Key: attrCrossZone, Value: "yes"}, model.ErrInvalid, ""},
		{"an unknown routing policy", ELBAttribute{Key: attrDNSRouting, Value: "nearest"}, model.ErrInvalid, ""},
		{"an AWSLogs prefix", ELBAttribute{Key: attrAccessLogsPrefix, Value: "x/AWSLogs"}, model.ErrInvalid, ""},
		{"access logs on", ELBAttribute{Key: attrAccessLogs, Value: "true"}, model.ErrUnsupported, model.ReasonConfiguration},
		{"a bucket", ELBAttribute{Key: attrAccessLogsBucket, Value: "logs"}, model.ErrUnsupported, model.ReasonConfiguration},
	} {
		_, err := c.ModifyLoadBalancerAttributes(ctx, testAcct, lb.ARN, []ELBAttribute{{Key: attrZonalShift, Value: "true"}, bad.attr})
		controltest.WantError(t, bad.what, err, bad.err, "", bad.reason)
	}
	if got := controltest.Must(c.LoadBalancer(ctx, testAcct, lb.ARN))(t); got.Attributes[attrZonalShift] != "false" || got.Attributes[attrCrossZone] != "true" {
		t.Fatalf("refused changes changed the attributes: %+v", got.Attributes)
	}

	for _, ok := range []ELBAttribute{{Key: attrDeregDelay, Value: "0"}, {Key: attrDeregDelay, Value: "3600"}, {Key: attrRoutingHealthyPct, Value: "100"}, {Key: attrDNSFailoverCount, Value: "off"}} {
		if _, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{ok}); err != nil {
			t.Fatalf("%s=%s: %v", ok.Key, ok.Value, err)
		}
	}
	for _, bad := range []ELBAttribute{
		{Key: attrDeregDelay, Value: "3601"}, {Key: attrDeregDelay, Value: "-1"}, {Key: attrDeregDelay, Value: "soon"},
		{Key: attrRoutingHealthyPct, Value: "101"}, {Key: attrRoutingHealthyCount, Value: "off"}, {Key: attrDNSFailoverPercent, Value: "0"},
		{Key: attrStickinessType, Value: "lb_cookie"}, {Key: attrTGCrossZone, Value: "maybe"}, {Key: attrUnhealthyDraining, Value: "360001"},
	} {
		_, err := c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{bad})
		controltest.WantError(t, bad.Key+"="+bad.Value, err, model.ErrInvalid, "", "")
	}
	_, err = c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: attrUnhealthyDraining, Value: "60"}})
	controltest.WantError(t, "a draining interval with termination on", err, model.ErrInvalid, "", model.ReasonConfiguration)
	attrs, err = c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, []ELBAttribute{{Key: attrUnhealthyTerminate, Value: "false"}, {Key: attrUnhealthyDraining, Value: "60"}})
	if err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(c.TargetGroup(ctx, testAcct, tg.ARN))(t)
	if got.Attributes[attrUnhealthyDraining] != "60" || got.Attributes[attrDeregDelay] != "3600" || DeregistrationDelay(got) != time.Hour || len(attrs) != len(got.Attributes) {
		t.Fatalf("target group attributes %+v", got.Attributes)
	}
	_, err = c.ModifyTargetGroupAttributes(ctx, testAcct, tg.ARN, nil)
	controltest.WantError(t, "no attributes", err, model.ErrMissing, "", "")
}

// Tags of load balancers, target groups and listeners: at most 50 each, keys
// given once, no aws: keys; a change to several resources is all or none.
func TestELBTags(t *testing.T) {
	t.Parallel()
	c := newTestELB(t)
	ctx := context.Background()
	_, subnets, tg := ipGroup(t, c, false)
	lb := controltest.Must(c.CreateLoadBalancer(ctx, testAcct, CreateLoadBalancerInput{Name: "lb2", Type: LBTypeNetwork, Subnets: nettest.IDs(subnets),
		Tags: []ELBTag{{Key: "a", Value: "1"}}}))(t)
	if err := c.AddTags(ctx, testAcct, []string{lb.ARN, tg.ARN}, []ELBTag{{Key: "env", Value: "prod"}, {Key: "a", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	tags := controltest.Must(c.Tags(ctx, testAcct, []string{tg.ARN, lb.ARN}))(t)
	if len(tags) != 2 || len(tags[0]) != 2 || tags[0]["env"] != "prod" || tags[1]["a"] != "2" || len(tags[1]) != 2 {
		t.Fatalf("tags %+v", tags)
	}
	var many []ELBTag
	for i := range 48 {
		many = append(many, ELBTag{Key: "k" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Value: "v"})
	}
	if err := c.AddTags(ctx, testAcct, []string{lb.ARN}, many); err != nil { // 2 + 48 = 50
		t.Fatalf("50 tags: %v", err)
	}
	err := c.AddTags(ctx, testAcct, []string{tg.ARN, lb.ARN}, []ELBTag{{Key: "one-more", Value: "x"}})
	controltest.WantError(t, "tag 51", err, model.ErrLimit, "", model.ReasonTooManyTags)
	if got := controltest.Must(c.Tags(ctx, testAcct, []string{tg.ARN}))(t)[0]; got["one-more"] != "" {
		t.Fatal("a refused change tagged the target group before the load balancer")
	}
	err = c.AddTags(ctx, testAcct, []string{tg.ARN}, []ELBTag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}})
	controltest.WantError(t, "a key twice", err, model.ErrInvalid, "", model.ReasonDuplicateTagKeys)
	for _, bad := range []ELBTag{{Key: "aws:x", Value: "1"}, {Key: "", Value: "1"}, {Key: "k", Value: "a|b"}} {
		err = c.AddTags(ctx, testAcct, []string{tg.ARN}, []ELBTag{bad})
		controltest.WantError(t, "tag "+bad.Key+"="+bad.Value, err, model.ErrInvalid, "", "")
	}
	err = c.AddTags(ctx, testAcct, []string{tg.ARN, "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/x/0123456789abcdef"}, []ELBTag{{Key: "k", Value: "1"}})
	controltest.WantError(t, "a missing target group", err, model.ErrNotFound, model.KindTargetGroup, "")
	if err := c.RemoveTags(ctx, testAcct, []string{tg.ARN}, []string{"env", "a", "never"}); err != nil {
		t.Fatal(err)
	}
	if got := controltest.Must(c.Tags(ctx, testAcct, []string{tg.ARN}))(t)[0]; got != nil {
		t.Fatalf("after removing every tag: %+v", got)
	}
	_, err = c.Tags(ctx, testAcct, []string{"arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1"})
	controltest.WantError(t, "an EC2 ARN", err, model.ErrInvalid, "", "")
}
