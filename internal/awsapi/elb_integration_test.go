package awsapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

// nlbNet is a provider network for load balancer tests: a VPC with one /24 subnet
// in each of us-east-1a, b and c.
type nlbNet struct {
	vpc     string
	subnets []string
}

func nlbNetwork(t *testing.T, env *testenv.Env, acct, cidr string) nlbNet {
	t.Helper()
	ctx := testenv.Ctx(t)
	v, err := env.EC2(acct).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatal(err)
	}
	n := nlbNet{vpc: *v.Vpc.VpcId}
	prefix := strings.TrimSuffix(cidr, "0.0/16")
	for i, az := range []string{"a", "b", "c"} {
		s, err := env.EC2(acct).CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(n.vpc), CidrBlock: aws.String(fmt.Sprintf("%s%d.0/24", prefix, i+1)), AvailabilityZone: aws.String(testenv.Region + az),
		})
		if err != nil {
			t.Fatal(err)
		}
		n.subnets = append(n.subnets, *s.Subnet.SubnetId)
	}
	return n
}

func nlbCreate(t *testing.T, c *elbv2.Client, name string, subnets ...string) elbtypes.LoadBalancer {
	t.Helper()
	out, err := c.CreateLoadBalancer(testenv.Ctx(t), &elbv2.CreateLoadBalancerInput{
		Name: aws.String(name), Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: subnets,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.LoadBalancers[0]
}

func nlbTargetGroup(t *testing.T, c *elbv2.Client, name, vpc string, port int32) string {
	t.Helper()
	out, err := c.CreateTargetGroup(testenv.Ctx(t), &elbv2.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.TargetGroups[0].TargetGroupArn
}

func nlbListener(t *testing.T, c *elbv2.Client, lb, tg string, port int32) string {
	t.Helper()
	out, err := c.CreateListener(testenv.Ctx(t), &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(lb), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Listeners[0].ListenerArn
}

func nlbHealth(t *testing.T, c *elbv2.Client, tg string) []elbtypes.TargetHealthDescription {
	t.Helper()
	out, err := c.DescribeTargetHealth(testenv.Ctx(t), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	return out.TargetHealthDescriptions
}

// nlbWaitActive waits (briefly: the reconciler settles in milliseconds) for a load
// balancer to become active.
func nlbWaitActive(t *testing.T, c *elbv2.Client, arn string) elbtypes.LoadBalancer {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := c.DescribeLoadBalancers(testenv.Ctx(t), &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		lb := out.LoadBalancers[0]
		if lb.State.Code == elbtypes.LoadBalancerStateEnumActive {
			return lb
		}
		if time.Now().After(deadline) {
			t.Fatalf("load balancer %s is still %s", arn, lb.State.Code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func nlbFreeIPs(t *testing.T, c *ec2.Client, subnet string) int32 {
	t.Helper()
	out, err := c.DescribeSubnets(testenv.Ctx(t), &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Subnets[0].AvailableIpAddressCount
}

// TestNLBGuide004 runs the load balancer part of guide 004 with the SDK: an internal
// NLB in three subnets with a security group, an IP target group on TCP:3306, the
// target 10.0.1.10 and a listener; without a data plane the target is never healthy.
func TestNLBGuide004(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb, ec := env.ELB(provider), env.EC2(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	sg := netCreateSG(t, ec, n.vpc, "pl-nlb")

	created, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("pl-nlb"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Subnets: n.subnets, SecurityGroups: []string{sg},
	})
	if err != nil {
		t.Fatal(err)
	}
	lb := created.LoadBalancers[0]
	arn := *lb.LoadBalancerArn
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:us-east-1:"+provider+":loadbalancer/net/pl-nlb/") {
		t.Errorf("ARN %s", arn)
	}
	hex := arn[strings.LastIndexByte(arn, '/')+1:]
	if want := "internal-pl-nlb-" + hex + ".elb.us-east-1.amazonaws.com"; *lb.DNSName != want {
		t.Errorf("DNS name %s, want %s", *lb.DNSName, want)
	}
	if lb.State.Code != elbtypes.LoadBalancerStateEnumProvisioning || *lb.VpcId != n.vpc || lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternal ||
		*lb.CanonicalHostedZoneId != "Z26RNL4JYFTOTI" || len(lb.SecurityGroups) != 1 || lb.SecurityGroups[0] != sg ||
		aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic) != "on" {
		t.Errorf("created load balancer %+v", lb)
	}
	if len(lb.AvailabilityZones) != 3 {
		t.Fatalf("zones %+v", lb.AvailabilityZones)
	}
	for i, z := range lb.AvailabilityZones {
		if *z.ZoneName != testenv.Region+string(rune('a'+i)) || *z.SubnetId != n.subnets[i] || len(z.LoadBalancerAddresses) != 1 ||
			*z.LoadBalancerAddresses[0].PrivateIPv4Address != fmt.Sprintf("10.0.%d.4", i+1) {
			t.Errorf("zone %d: %s %s %+v", i, *z.ZoneName, *z.SubnetId, z.LoadBalancerAddresses)
		}
	}
	nlbWaitActive(t, elb, arn)

	// Each node is a requester-managed ENI with the load balancer's security group.
	enis, err := ec.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB net/pl-nlb/" + hex}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(enis.NetworkInterfaces) != 3 {
		t.Fatalf("%d node interfaces, want 3", len(enis.NetworkInterfaces))
	}
	for _, e := range enis.NetworkInterfaces {
		if e.InterfaceType != ec2types.NetworkInterfaceTypeNetworkLoadBalancer || !aws.ToBool(e.RequesterManaged) ||
			len(e.Groups) != 1 || *e.Groups[0].GroupId != sg {
			t.Errorf("node interface %s: type %s, requester-managed %v, groups %+v", *e.NetworkInterfaceId, e.InterfaceType, aws.ToBool(e.RequesterManaged), e.Groups)
		}
	}

	tg := nlbTargetGroup(t, elb, "pl-nlb-target-group", n.vpc, 3306)
	if _, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.10")}}}); err != nil {
		t.Fatal(err)
	}
	h := nlbHealth(t, elb, tg)
	if len(h) != 1 || *h[0].Target.Id != "10.0.1.10" || *h[0].Target.Port != 3306 || aws.ToString(h[0].Target.AvailabilityZone) != "us-east-1a" ||
		h[0].TargetHealth.State != elbtypes.TargetHealthStateEnumUnused || h[0].TargetHealth.Reason != elbtypes.TargetHealthReasonEnumNotInUse {
		t.Fatalf("health before the listener: %+v", h)
	}

	listener := nlbListener(t, elb, arn, tg, 3306)
	if !strings.HasPrefix(listener, "arn:aws:elasticloadbalancing:us-east-1:"+provider+":listener/net/pl-nlb/"+hex+"/") {
		t.Errorf("listener ARN %s", listener)
	}
	// There is no data plane: the target stays initial, even after the reconciler
	// has run a few times.
	time.Sleep(1100 * time.Millisecond)
	h = nlbHealth(t, elb, tg)
	if len(h) != 1 || h[0].TargetHealth.State != elbtypes.TargetHealthStateEnumInitial ||
		h[0].TargetHealth.Reason != elbtypes.TargetHealthReasonEnumRegistrationInProgress || aws.ToString(h[0].HealthCheckPort) != "3306" {
		t.Fatalf("health with a listener: %+v", h[0].TargetHealth)
	}

	ls, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Listeners) != 1 || *ls.Listeners[0].ListenerArn != listener || *ls.Listeners[0].Port != 3306 || ls.Listeners[0].Protocol != elbtypes.ProtocolEnumTcp ||
		len(ls.Listeners[0].DefaultActions) != 1 || *ls.Listeners[0].DefaultActions[0].TargetGroupArn != tg {
		t.Fatalf("listeners %+v", ls.Listeners)
	}
	tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tgs.TargetGroups) != 1 || *tgs.TargetGroups[0].TargetGroupArn != tg || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != arn {
		t.Fatalf("target groups of the load balancer %+v", tgs.TargetGroups)
	}
	g := tgs.TargetGroups[0]
	if g.HealthCheckProtocol != elbtypes.ProtocolEnumTcp || *g.HealthCheckPort != "traffic-port" || *g.HealthCheckIntervalSeconds != 30 ||
		*g.HealthCheckTimeoutSeconds != 10 || *g.HealthyThresholdCount != 5 || *g.UnhealthyThresholdCount != 2 || !*g.HealthCheckEnabled {
		t.Errorf("health check defaults %+v", g)
	}

	// The target group is in use, and can be deleted once its listener is gone;
	// then its target is unused again.
	_, err = elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)})
	netWantCode(t, err, "ResourceInUse")
	if _, err := elb.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(listener)}); err != nil {
		t.Fatal(err)
	}
	if h := nlbHealth(t, elb, tg); h[0].TargetHealth.State != elbtypes.TargetHealthStateEnumUnused {
		t.Errorf("health after deleting the listener: %+v", h[0].TargetHealth)
	}
	if _, err := elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.10")}}}); err != nil {
		t.Fatal(err)
	}
	if h := nlbHealth(t, elb, tg); len(h) != 0 {
		t.Errorf("health after deregistering: %+v", h)
	}
	if _, err := elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}); err != nil {
		t.Fatal(err)
	}
}

// TestNLBAttributes round-trips load balancer and target group attributes.
func TestNLBAttributes(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	lb := *nlbCreate(t, elb, "attrs", n.subnets[0]).LoadBalancerArn

	attrs := func(list []elbtypes.LoadBalancerAttribute) map[string]string {
		m := map[string]string{}
		for _, a := range list {
			m[*a.Key] = *a.Value
		}
		return m
	}
	got, err := elb.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"load_balancing.cross_zone.enabled": "false", "deletion_protection.enabled": "false", "ipv6.deny_all_igw_traffic": "false",
		"dns_record.client_routing_policy": "any_availability_zone", "access_logs.s3.enabled": "false",
		"access_logs.s3.bucket": "", "access_logs.s3.prefix": "", "zonal_shift.config.enabled": "false"}
	if fmt.Sprint(attrs(got.Attributes)) != fmt.Sprint(want) {
		t.Errorf("default attributes %v, want %v", attrs(got.Attributes), want)
	}
	mod, err := elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb), Attributes: []elbtypes.LoadBalancerAttribute{
		{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")},
		{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("true")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m := attrs(mod.Attributes); len(m) != 8 || m["deletion_protection.enabled"] != "true" || m["load_balancing.cross_zone.enabled"] != "true" {
		t.Errorf("modified attributes %v", m)
	}
	_, err = elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)})
	netWantCode(t, err, "OperationNotPermitted")
	for _, bad := range [][2]string{{"idle_timeout.timeout_seconds", "60"}, {"deletion_protection.enabled", "maybe"}, {"dns_record.client_routing_policy", "nearest"}} {
		_, err = elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb),
			Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String(bad[0]), Value: aws.String(bad[1])}}})
		netWantCode(t, err, "ValidationError")
	}
	if _, err := elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}

	tg := nlbTargetGroup(t, elb, "attrs-tg", n.vpc, 5432)
	tgAttrs := func() map[string]string {
		t.Helper()
		out, err := elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, a := range out.Attributes {
			m[*a.Key] = *a.Value
		}
		return m
	}
	before := tgAttrs()
	for k, v := range map[string]string{"proxy_protocol_v2.enabled": "false", "deregistration_delay.timeout_seconds": "300",
		"preserve_client_ip.enabled": "false", "stickiness.type": "source_ip", "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
		"target_health_state.unhealthy.connection_termination.enabled": "true"} {
		if before[k] != v {
			t.Errorf("default %s = %q, want %q", k, before[k], v)
		}
	}
	if _, err := elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg), Attributes: []elbtypes.TargetGroupAttribute{
		{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")},
		{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")},
	}}); err != nil {
		t.Fatal(err)
	}
	after := tgAttrs()
	if after["proxy_protocol_v2.enabled"] != "true" || after["deregistration_delay.timeout_seconds"] != "0" || len(after) != len(before) {
		t.Errorf("attributes after modification %v", after)
	}
	for _, bad := range [][2]string{{"proxy_protocol_v2.enabled", "yes"}, {"deregistration_delay.timeout_seconds", "3601"}, {"stickiness.type", "lb_cookie"}, {"slow_start.duration_seconds", "30"}} {
		_, err := elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(bad[0]), Value: aws.String(bad[1])}}})
		netWantCode(t, err, "ValidationError")
	}
	if got := tgAttrs(); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Errorf("a refused modification changed attributes: %v", got)
	}
}

// TestNLBValidation checks the main refusals of CreateLoadBalancer and
// CreateTargetGroup, and that asking twice for the same thing is not one of them.
func TestNLBValidation(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb, ec := env.ELB(provider), env.EC2(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	other := nlbNetwork(t, env, provider, "10.1.0.0/16")
	a2, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}

	first := nlbCreate(t, elb, "db", n.subnets...)
	again := nlbCreate(t, elb, "db", n.subnets[2], n.subnets[0], n.subnets[1])
	if *again.LoadBalancerArn != *first.LoadBalancerArn {
		t.Errorf("identical CreateLoadBalancer made %s, then %s", *first.LoadBalancerArn, *again.LoadBalancerArn)
	}
	create := func(name string, subnets ...string) error {
		_, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
			Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: subnets})
		return err
	}
	netWantCode(t, create("db", n.subnets[0]), "DuplicateLoadBalancerName")
	netWantCode(t, create("same-az", n.subnets[0], *a2.Subnet.SubnetId), "InvalidConfigurationRequest")
	netWantCode(t, create("two-vpcs", n.subnets[0], other.subnets[1]), "InvalidConfigurationRequest")
	netWantCode(t, create("bad_name", n.subnets[0]), "ValidationError")
	netWantCode(t, create("internal-db", n.subnets[0]), "ValidationError")
	netWantCode(t, create("-db", n.subnets[0]), "ValidationError")
	netWantCode(t, create(strings.Repeat("x", 33), n.subnets[0]), "ValidationError")
	netWantCode(t, create("nowhere"), "ValidationError")
	netWantCode(t, create("ghost", "subnet-0123456789abcdef0"), "SubnetNotFound")
	_, err = elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("alb"), Type: elbtypes.LoadBalancerTypeEnumApplication, Subnets: n.subnets[:1]})
	netWantCode(t, err, "InvalidConfigurationRequest")
	_, err = elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("both"), Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: n.subnets[:1],
		SubnetMappings: []elbtypes.SubnetMapping{{SubnetId: aws.String(n.subnets[1])}}})
	netWantCode(t, err, "ValidationError")
	// A failed creation leaves no interface behind.
	if got := nlbFreeIPs(t, ec, *a2.Subnet.SubnetId); got != 251 {
		t.Errorf("subnet %s has %d free addresses after refused creations, want 251", *a2.Subnet.SubnetId, got)
	}

	tg := nlbTargetGroup(t, elb, "db-tg", n.vpc, 3306)
	if again := nlbTargetGroup(t, elb, "db-tg", n.vpc, 3306); again != tg {
		t.Errorf("identical CreateTargetGroup made %s, then %s", tg, again)
	}
	createTG := func(in elbv2.CreateTargetGroupInput) error {
		_, err := elb.CreateTargetGroup(ctx, &in)
		return err
	}
	base := elbv2.CreateTargetGroupInput{Name: aws.String("db-tg"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(3307), VpcId: aws.String(n.vpc), TargetType: elbtypes.TargetTypeEnumIp}
	netWantCode(t, createTG(base), "DuplicateTargetGroupName")
	for name, change := range map[string]func(*elbv2.CreateTargetGroupInput){
		"udp":      func(in *elbv2.CreateTargetGroupInput) { in.Protocol = elbtypes.ProtocolEnumUdp },
		"lambda":   func(in *elbv2.CreateTargetGroupInput) { in.TargetType = elbtypes.TargetTypeEnumLambda },
		"port":     func(in *elbv2.CreateTargetGroupInput) { in.Port = aws.Int32(70000) },
		"no-vpc":   func(in *elbv2.CreateTargetGroupInput) { in.VpcId = nil },
		"interval": func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(301) },
		"healthy":  func(in *elbv2.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(11) },
		"disabled": func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckEnabled = aws.Bool(false) },
		"hc-port":  func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckPort = aws.String("any") },
		"tcp-path": func(in *elbv2.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("/health") },
	} {
		in := base
		in.Name = aws.String("tg-" + name)
		change(&in)
		if err := createTG(in); netErrCode(err) != "ValidationError" {
			t.Errorf("%s: error %v, want ValidationError", name, err)
		}
	}
	http := base
	http.Name, http.HealthCheckProtocol = aws.String("http-check"), elbtypes.ProtocolEnumHttp
	out, err := elb.CreateTargetGroup(ctx, &http)
	if err != nil {
		t.Fatal(err)
	}
	if g := out.TargetGroups[0]; *g.HealthCheckPath != "/" || *g.Matcher.HttpCode != "200-399" || *g.HealthCheckTimeoutSeconds != 6 {
		t.Errorf("HTTP health check defaults: path %s, matcher %s, timeout %d", *g.HealthCheckPath, *g.Matcher.HttpCode, *g.HealthCheckTimeoutSeconds)
	}

	// Targets: inside the VPC, or outside it with zone "all"; instances must exist.
	register := func(tg string, targets ...elbtypes.TargetDescription) error {
		_, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets})
		return err
	}
	if err := register(tg, elbtypes.TargetDescription{Id: aws.String("10.0.2.20")}, elbtypes.TargetDescription{Id: aws.String("10.0.2.20")},
		elbtypes.TargetDescription{Id: aws.String("192.168.1.5"), Port: aws.Int32(3307), AvailabilityZone: aws.String("all")}); err != nil {
		t.Fatal(err)
	}
	if err := register(tg, elbtypes.TargetDescription{Id: aws.String("10.0.2.20"), Port: aws.Int32(3306)}); err != nil {
		t.Fatal(err)
	}
	if h := nlbHealth(t, elb, tg); len(h) != 2 {
		t.Errorf("re-registering added targets: %+v", h)
	}
	netWantCode(t, register(tg, elbtypes.TargetDescription{Id: aws.String("192.168.1.5")}), "InvalidTarget")
	netWantCode(t, register(tg, elbtypes.TargetDescription{Id: aws.String("8.8.8.8"), AvailabilityZone: aws.String("all")}), "InvalidTarget")
	netWantCode(t, register(tg, elbtypes.TargetDescription{Id: aws.String("10.0.2.20"), AvailabilityZone: aws.String("us-east-1c")}), "InvalidTarget")
	netWantCode(t, register(tg, elbtypes.TargetDescription{Id: aws.String("i-0123456789abcdef0")}), "InvalidTarget")
	inst, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("instances"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: aws.String(n.vpc)})
	if err != nil {
		t.Fatal(err)
	}
	if inst.TargetGroups[0].TargetType != elbtypes.TargetTypeEnumInstance {
		t.Errorf("default target type %s", inst.TargetGroups[0].TargetType)
	}
	err = register(*inst.TargetGroups[0].TargetGroupArn, elbtypes.TargetDescription{Id: aws.String("i-0123456789abcdef0")})
	netWantCode(t, err, "InvalidTarget")
	if !strings.Contains(err.Error(), "The following targets are not valid instances: i-0123456789abcdef0") {
		t.Errorf("message %v", err)
	}
	_, err = elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.2.21")}}})
	netWantCode(t, err, "InvalidTarget")

	// Listeners: one per port, TCP only, a target group serves one load balancer.
	second := nlbCreate(t, elb, "second", n.subnets[1])
	nlbListener(t, elb, *first.LoadBalancerArn, tg, 3306)
	listen := func(lb string, proto elbtypes.ProtocolEnum, port int32, tg string) error {
		_, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: proto, Port: aws.Int32(port),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}})
		return err
	}
	httpTG := *out.TargetGroups[0].TargetGroupArn
	netWantCode(t, listen(*first.LoadBalancerArn, elbtypes.ProtocolEnumTcp, 3306, httpTG), "DuplicateListener")
	netWantCode(t, listen(*first.LoadBalancerArn, elbtypes.ProtocolEnumTls, 443, httpTG), "ValidationError")
	netWantCode(t, listen(*first.LoadBalancerArn, elbtypes.ProtocolEnumUdp, 53, httpTG), "ValidationError")
	netWantCode(t, listen(*second.LoadBalancerArn, elbtypes.ProtocolEnumTcp, 3306, tg), "TargetGroupAssociationLimit")
	otherTG := nlbTargetGroup(t, elb, "other-vpc", other.vpc, 3306)
	netWantCode(t, listen(*first.LoadBalancerArn, elbtypes.ProtocolEnumTcp, 3307, otherTG), "InvalidConfigurationRequest")
	netWantCode(t, listen(*first.LoadBalancerArn, elbtypes.ProtocolEnumTcp, 3307, "arn:aws:elasticloadbalancing:us-east-1:"+provider+":targetgroup/nope/0123456789abcdef"), "TargetGroupNotFound")
}

// TestNLBDeleteFreesInterfaces checks that deleting a load balancer deletes its
// listeners and frees its nodes' addresses.
func TestNLBDeleteFreesInterfaces(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb, ec := env.ELB(provider), env.EC2(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	free := nlbFreeIPs(t, ec, n.subnets[0])
	lb := *nlbCreate(t, elb, "short-lived", n.subnets[0], n.subnets[1]).LoadBalancerArn
	if got := nlbFreeIPs(t, ec, n.subnets[0]); got != free-1 {
		t.Fatalf("free addresses %d after creating the load balancer, want %d", got, free-1)
	}
	tg := nlbTargetGroup(t, elb, "short-lived", n.vpc, 80)
	nlbListener(t, elb, lb, tg, 80)
	nlbWaitActive(t, elb, lb)

	if _, err := elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range n.subnets[:2] {
		if got := nlbFreeIPs(t, ec, s); got != free {
			t.Errorf("subnet %s: %d free addresses after deleting the load balancer, want %d", s, got, free)
		}
	}
	_, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
	netWantCode(t, err, "LoadBalancerNotFound")
	g, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Errorf("target group still used by %v", g.TargetGroups[0].LoadBalancerArns)
	}
	// Deleting again succeeds, as in AWS; the target group is free to go, and so
	// are the subnets.
	if _, err := elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)}); err != nil {
		t.Errorf("deleting a deleted load balancer: %v", err)
	}
	if _, err := elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.subnets[0])}); err != nil {
		t.Errorf("deleting the subnet after the load balancer: %v", err)
	}
}

// TestNLBCrossAccount checks that another account sees none of a provider's load
// balancer resources by ARN, and cannot change or delete them.
func TestNLBCrossAccount(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb, other := env.ELB(provider), env.ELB(consumer)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	lb := *nlbCreate(t, elb, "private", n.subnets...).LoadBalancerArn
	tg := nlbTargetGroup(t, elb, "private", n.vpc, 3306)
	listener := nlbListener(t, elb, lb, tg, 3306)

	_, err := other.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb}})
	netWantCode(t, err, "LoadBalancerNotFound")
	_, err = other.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)})
	netWantCode(t, err, "LoadBalancerNotFound")
	_, err = other.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"private"}})
	netWantCode(t, err, "LoadBalancerNotFound")
	_, err = other.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}})
	netWantCode(t, err, "LoadBalancerNotFound")
	_, err = other.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	netWantCode(t, err, "TargetGroupNotFound")
	_, err = other.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.9")}}})
	netWantCode(t, err, "TargetGroupNotFound")
	_, err = other.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)})
	netWantCode(t, err, "TargetGroupNotFound")
	_, err = other.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{listener}})
	netWantCode(t, err, "ListenerNotFound")
	_, err = other.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{lb}, Tags: []elbtypes.Tag{{Key: aws.String("mine"), Value: aws.String("no")}}})
	netWantCode(t, err, "LoadBalancerNotFound")
	_, err = other.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{listener}})
	netWantCode(t, err, "ListenerNotFound")
	if all, err := other.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}); err != nil || len(all.LoadBalancers) != 0 {
		t.Errorf("the other account lists %+v (%v)", all, err)
	}

	// All of it is still there for its owner.
	if _, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb}}); err != nil {
		t.Fatal(err)
	}
	if _, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{listener}}); err != nil {
		t.Fatal(err)
	}
	if h := nlbHealth(t, elb, tg); len(h) != 0 {
		t.Errorf("targets %+v", h)
	}
}

// TestNLBTags adds, lists and removes tags on the three kinds of resources.
func TestNLBTags(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	lb := *nlbCreate(t, elb, "tagged", n.subnets[0]).LoadBalancerArn
	tg := nlbTargetGroup(t, elb, "tagged", n.vpc, 80)
	listener := nlbListener(t, elb, lb, tg, 80)
	arns := []string{lb, tg, listener}

	if _, err := elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: arns, Tags: []elbtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("team"), Value: aws.String("db")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := elb.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: arns[1:], TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	out, err := elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"env,team", "env", "env"}
	for i, d := range out.TagDescriptions {
		var keys []string
		for _, tag := range d.Tags {
			keys = append(keys, *tag.Key)
		}
		if *d.ResourceArn != arns[i] || strings.Join(keys, ",") != wantKeys[i] {
			t.Errorf("tags of %s: %v, want %s", *d.ResourceArn, keys, wantKeys[i])
		}
	}
	_, err = elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: arns[:1], Tags: []elbtypes.Tag{{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}}})
	netWantCode(t, err, "DuplicateTagKeys")
	var many []elbtypes.Tag
	for i := range 49 {
		many = append(many, elbtypes.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	_, err = elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: arns[:1], Tags: many})
	netWantCode(t, err, "TooManyTags")
	_, err = elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: arns[1:2], Tags: many})
	if err != nil {
		t.Errorf("50 tags in all: %v", err)
	}
}

// TestNLBPagination pages through load balancers, target groups and listeners.
func TestNLBPagination(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	var lbs, tgs []string
	for i := range 5 {
		lbs = append(lbs, *nlbCreate(t, elb, fmt.Sprintf("lb-%d", i), n.subnets[i%3]).LoadBalancerArn)
		tgs = append(tgs, nlbTargetGroup(t, elb, fmt.Sprintf("tg-%d", i), n.vpc, int32(3300+i)))
	}
	for i := range 3 {
		nlbListener(t, elb, lbs[0], tgs[i], int32(3300+i))
	}

	var names []string
	pages := 0
	p := elbv2.NewDescribeLoadBalancersPaginator(elb, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, lb := range page.LoadBalancers {
			names = append(names, *lb.LoadBalancerName)
		}
	}
	if pages != 3 || strings.Join(names, ",") != "lb-0,lb-1,lb-2,lb-3,lb-4" {
		t.Errorf("%d pages of load balancers: %v", pages, names)
	}

	names, pages = nil, 0
	tp := elbv2.NewDescribeTargetGroupsPaginator(elb, &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(3)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range page.TargetGroups {
			names = append(names, *g.TargetGroupName)
		}
	}
	if pages != 2 || strings.Join(names, ",") != "tg-0,tg-1,tg-2,tg-3,tg-4" {
		t.Errorf("%d pages of target groups: %v", pages, names)
	}

	var ports []int32
	first, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbs[0]), PageSize: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if first.NextMarker == nil {
		t.Fatal("no marker after the first page of listeners")
	}
	rest, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbs[0]), PageSize: aws.Int32(2), Marker: first.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(first.Listeners, rest.Listeners...) {
		ports = append(ports, *l.Port)
	}
	if fmt.Sprint(ports) != "[3300 3301 3302]" || rest.NextMarker != nil {
		t.Errorf("listener pages: ports %v, last marker %v", ports, rest.NextMarker)
	}

	_, err = elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(401)})
	netWantCode(t, err, "ValidationError")
	_, err = elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Marker: aws.String("%%%")})
	netWantCode(t, err, "ValidationError")
}

// TestNLBGuide004WithCLI runs the exact AWS CLI commands of guide 004's load
// balancer part.
func TestNLBGuide004WithCLI(t *testing.T) {
	env := testenv.Start(t)
	p := func(args ...string) string { t.Helper(); return env.AWSText(provider, args...) }
	vpc := p("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	var subnets []string
	for i, az := range []string{"a", "b", "c"} {
		subnets = append(subnets, p("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", fmt.Sprintf("10.0.%d.0/24", i+1),
			"--availability-zone", "us-east-1"+az, "--query", "Subnet.SubnetId"))
	}
	sg := p("ec2", "create-security-group", "--group-name", "pl-nlb", "--description", "PrivateLink NLB", "--vpc-id", vpc, "--query", "GroupId")

	out := env.AWS(provider, append(append([]string{"elbv2", "create-load-balancer", "--name", "pl-nlb", "--scheme", "internal", "--type", "network", "--subnets"},
		subnets...), "--security-groups", sg)...)
	lb := out["LoadBalancers"].([]any)[0].(map[string]any)
	arn := lb["LoadBalancerArn"].(string)
	if lb["Type"] != "network" || lb["Scheme"] != "internal" || len(lb["AvailabilityZones"].([]any)) != 3 || lb["VpcId"] != vpc {
		t.Fatalf("create-load-balancer output %v", lb)
	}
	out = env.AWS(provider, "elbv2", "create-target-group", "--name", "pl-nlb-target-group", "--protocol", "TCP", "--port", "3306",
		"--vpc-id", vpc, "--target-type", "ip")
	tg := out["TargetGroups"].([]any)[0].(map[string]any)["TargetGroupArn"].(string)
	if out := env.AWS(provider, "elbv2", "register-targets", "--target-group-arn", tg, "--targets", "Id=10.0.1.10"); out != nil {
		t.Errorf("register-targets printed %v", out)
	}
	if st := p("elbv2", "describe-target-health", "--target-group-arn", tg, "--query", "TargetHealthDescriptions[0].TargetHealth.State"); st != "unused" {
		t.Errorf("target state before the listener: %s", st)
	}
	out = env.AWS(provider, "elbv2", "create-listener", "--load-balancer-arn", arn, "--protocol", "TCP", "--port", "3306",
		"--default-actions", "Type=forward,TargetGroupArn="+tg)
	l := out["Listeners"].([]any)[0].(map[string]any)
	if l["Port"] != float64(3306) || l["Protocol"] != "TCP" || l["LoadBalancerArn"] != arn {
		t.Errorf("create-listener output %v", l)
	}
	if st := p("elbv2", "describe-target-health", "--target-group-arn", tg, "--query", "TargetHealthDescriptions[0].TargetHealth.[State,Reason]"); st != "initial\tElb.RegistrationInProgress" {
		t.Errorf("target state with a listener: %q", st)
	}
	if got := p("elbv2", "describe-target-groups", "--load-balancer-arn", arn, "--query", "TargetGroups[0].LoadBalancerArns[0]"); got != arn {
		t.Errorf("describe-target-groups --load-balancer-arn: %s", got)
	}
	if got := p("elbv2", "describe-load-balancers", "--names", "pl-nlb", "--query", "LoadBalancers[0].SecurityGroups[0]"); got != sg {
		t.Errorf("security group %s, want %s", got, sg)
	}
	if msg := env.AWSError(provider, "elbv2", "create-load-balancer", "--name", "pl-nlb", "--scheme", "internal", "--type", "network", "--subnets", subnets[0]); !strings.Contains(msg, "DuplicateLoadBalancerName") {
		t.Errorf("duplicate name: %s", msg)
	}
}
