package awsapi_test

import (
	"errors"
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

// TestSetSubnets follows https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html
// with the SDK: a zone added gets a node (an interface of the load balancer in the
// new subnet); a zone removed loses it and its address; changing a zone's subnet
// takes a removal, then an addition; the subnets of a load balancer an endpoint
// service publishes can be added to but not removed, and the service then offers
// the new zone.
func TestSetSubnets(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	e, elb := env.EC2(provider), env.ELB(provider)
	n := plNetwork(t, env, provider, "us-east-1a", "us-east-1b")
	other, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	arn := plNLB(t, env, provider, "zones", n.subnets["us-east-1a"])
	interfaces := func() []ec2types.NetworkInterface {
		t.Helper()
		out, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
			{Name: aws.String("description"), Values: []string{"ELB net/zones/*"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.NetworkInterfaces
	}

	set, err := elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: []string{n.subnets["us-east-1a"], n.subnets["us-east-1b"]}})
	if err != nil || len(set.AvailabilityZones) != 2 || *set.AvailabilityZones[1].ZoneName != "us-east-1b" {
		t.Fatalf("adding us-east-1b: %v %+v", err, set)
	}
	if enis := interfaces(); len(enis) != 2 {
		t.Errorf("interfaces after adding a zone: %+v", enis)
	}
	_, err = elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: []string{*other.Subnet.SubnetId, n.subnets["us-east-1b"]}})
	netWantCode(t, err, "InvalidConfigurationRequest")
	if _, err := elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: []string{n.subnets["us-east-1b"]}}); err != nil {
		t.Fatal(err)
	}
	if enis := interfaces(); len(enis) != 1 || *enis[0].SubnetId != n.subnets["us-east-1b"] {
		t.Errorf("interfaces after removing us-east-1a: %+v", enis)
	}
	if _, err := elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), SubnetMappings: []elbtypes.SubnetMapping{
		{SubnetId: other.Subnet.SubnetId, PrivateIPv4Address: aws.String("10.0.9.99")}, {SubnetId: aws.String(n.subnets["us-east-1b"])}}}); err != nil {
		t.Fatalf("the other subnet of us-east-1a, once the first is removed: %v", err)
	}
	lbs, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(lbs.LoadBalancers[0].AvailabilityZones) != 2 || *lbs.LoadBalancers[0].AvailabilityZones[0].LoadBalancerAddresses[0].PrivateIPv4Address != "10.0.9.99" {
		t.Errorf("load balancer after the swap: %v %+v", err, lbs)
	}

	// Published: zones can be added, and the service offers them; none removed.
	published := plNLB(t, env, provider, "published", n.subnets["us-east-1b"])
	svc := plWaitService(t, env, provider, *plService(t, env, provider, published, aws.Bool(false), "").ServiceId)
	_, err = elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(published), Subnets: []string{n.subnets["us-east-1a"]}})
	netWantCode(t, err, "InvalidConfigurationRequest")
	if _, err := elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(published), Subnets: []string{n.subnets["us-east-1a"], n.subnets["us-east-1b"]}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the service offers us-east-1a", func() error {
		out, err := e.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{*svc.ServiceId}})
		if err != nil {
			return err
		}
		if zones := out.ServiceConfigurations[0].AvailabilityZones; len(zones) != 2 {
			return fmt.Errorf("zones %v", zones)
		}
		return nil
	})
}

// TestSetSecurityGroups follows https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetSecurityGroups.html:
// the groups replace the load balancer's (and its nodes' interfaces'); a load
// balancer created without groups gets none, and one created with them keeps one.
func TestSetSecurityGroups(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	e, elb := env.EC2(provider), env.ELB(provider)
	n := plNetwork(t, env, provider, "us-east-1a")
	a, b := netCreateSG(t, e, n.vpc, "a"), netCreateSG(t, e, n.vpc, "b")
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("grouped"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: []string{n.subnets["us-east-1a"]}, SecurityGroups: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	arn := lb.LoadBalancers[0].LoadBalancerArn
	out, err := elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{b}})
	if err != nil || len(out.SecurityGroupIds) != 1 || out.SecurityGroupIds[0] != b || out.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != "on" {
		t.Fatalf("SetSecurityGroups: %v %+v", err, out)
	}
	enis, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{b}}}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		t.Errorf("the node's interface in the new group: %v %+v", err, enis)
	}
	if _, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(a)}); err != nil {
		t.Errorf("the old group is no longer used: %v", err)
	}
	_, err = elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{}})
	netWantCode(t, err, "InvalidConfigurationRequest")
	bare := plNLB(t, env, provider, "bare", n.subnets["us-east-1a"])
	_, err = elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(bare), SecurityGroups: []string{b}})
	netWantCode(t, err, "InvalidConfigurationRequest")
}

// TestELBValidationWording: ELBv2 answers a value outside its model's constraints
// with ValidationError worded by its validation layer — "1 validation error
// detected: Value 'X' at 'protocol' failed to satisfy constraint: Member must
// satisfy enum value set: [...]" — not with EC2's "Value (X) for parameter …"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/CommonErrors.html).
// The AWS CLI shows the message as the service sent it.
func TestELBValidationWording(t *testing.T) {
	env := testenv.Start(t)
	n := plNetwork(t, env, provider, "us-east-1a")
	stderr := env.AWSError(provider, "elbv2", "create-target-group", "--name", "bad", "--protocol", "SCTP", "--port", "80", "--vpc-id", n.vpc)
	want := "ValidationError) when calling the CreateTargetGroup operation: 1 validation error detected: Value 'SCTP' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: ["
	if !strings.Contains(stderr, want) {
		t.Errorf("create-target-group --protocol SCTP: %s\nwant %s…", stderr, want)
	}
	_, err := env.ELB(provider).CreateTargetGroup(testenv.Ctx(t), &elbv2.CreateTargetGroupInput{Name: aws.String("slow"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(80), VpcId: aws.String(n.vpc), HealthCheckIntervalSeconds: aws.Int32(301)})
	var ae interface{ ErrorMessage() string }
	if netErrCode(err) != "ValidationError" || !errors.As(err, &ae) ||
		ae.ErrorMessage() != "1 validation error detected: Value '301' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must have value less than or equal to 300" {
		t.Errorf("HealthCheckIntervalSeconds 301: %v", err)
	}
}
