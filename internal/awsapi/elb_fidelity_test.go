package awsapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

// TestNLBMoreAttributes covers the attributes a real NLB lists besides the basic
// ones: zonal shift, and the S3 bucket and prefix of access logs (refused when set,
// since Strait has no S3).
func TestNLBMoreAttributes(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	lb := *nlbCreate(t, elb, "more-attrs", n.subnets[0]).LoadBalancerArn
	attrs := func(list []elbtypes.LoadBalancerAttribute) map[string]*string {
		m := map[string]*string{}
		for _, a := range list {
			m[*a.Key] = a.Value
		}
		return m
	}
	modify := func(kv ...string) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
		var list []elbtypes.LoadBalancerAttribute
		for i := 0; i < len(kv); i += 2 {
			list = append(list, elbtypes.LoadBalancerAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb), Attributes: list})
	}
	got, err := elb.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lb)})
	if err != nil {
		t.Fatal(err)
	}
	m := attrs(got.Attributes)
	for k, want := range map[string]string{"zonal_shift.config.enabled": "false", "access_logs.s3.bucket": "", "access_logs.s3.prefix": ""} {
		// Empty values are still written, as <Value></Value>.
		if v, ok := m[k]; !ok || v == nil || *v != want {
			t.Errorf("default %s = %v (present %v), want %q", k, v, ok, want)
		}
	}
	mod, err := modify("zonal_shift.config.enabled", "true", "access_logs.s3.prefix", "nlb-logs")
	if err != nil {
		t.Fatal(err)
	}
	if m := attrs(mod.Attributes); *m["zonal_shift.config.enabled"] != "true" || *m["access_logs.s3.prefix"] != "nlb-logs" {
		t.Errorf("modified attributes %v", m)
	}
	_, err = modify("zonal_shift.config.enabled", "yes")
	netWantCode(t, err, "ValidationError")
	_, err = modify("access_logs.s3.prefix", "x/AWSLogs")
	netWantCode(t, err, "ValidationError")
	_, err = modify("access_logs.s3.bucket", "my-logs")
	netWantCode(t, err, "InvalidConfigurationRequest")
	if err == nil || !strings.Contains(err.Error(), "no S3") {
		t.Errorf("bucket refusal should say Strait has no S3: %v", err)
	}
	if _, err := modify("access_logs.s3.bucket", ""); err != nil {
		t.Errorf("an empty bucket is the default and must be accepted: %v", err)
	}
}

// TestNLBRegisterTargetsAllZone allows AvailabilityZone "all" only for IP targets
// outside the VPC; inside it the zone comes from the subnet holding the address.
func TestNLBRegisterTargetsAllZone(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	elb := env.ELB(provider)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	tg := nlbTargetGroup(t, elb, "all-zone", n.vpc, 5432)
	register := func(ip, az string) error {
		_, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
			Targets: []elbtypes.TargetDescription{{Id: aws.String(ip), AvailabilityZone: aws.String(az)}}})
		return err
	}
	// In a subnet, and in the VPC's range but in no subnet.
	for _, ip := range []string{"10.0.1.10", "10.0.200.10"} {
		err := register(ip, "all")
		netWantCode(t, err, "InvalidTarget")
		if err == nil || !strings.Contains(err.Error(), "You cannot specify 'all' for targets inside the VPC") {
			t.Errorf("%s with zone all: %v", ip, err)
		}
	}
	if err := register("192.168.4.4", "all"); err != nil {
		t.Fatalf("outside the VPC, zone all: %v", err)
	}
	if _, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg),
		Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.2.10")}}}); err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, h := range nlbHealth(t, elb, tg) {
		zones[*h.Target.Id] = aws.ToString(h.Target.AvailabilityZone)
	}
	if zones["10.0.2.10"] != testenv.Region+"b" || zones["192.168.4.4"] != "all" || len(zones) != 2 {
		t.Errorf("registered targets and zones: %v", zones)
	}
}
