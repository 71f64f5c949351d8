package awsapi_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// TestInfrastructureAsCodeReads replays what Terraform's aws provider reads after it
// creates a VPC, a security group, an NLB stack, an endpoint service and an endpoint,
// and drives the SDK's waiters: every answer must agree with the model.
func TestInfrastructureAsCodeReads(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	e, lb := env.EC2(provider), env.ELB(provider)
	// The SDK's waiters check every 15 s by default; Strait settles in milliseconds.
	wait, fast := 30*time.Second, 20*time.Millisecond

	// aws_vpc: create, wait, then read attributes, main route table, default ACL and
	// default security group.
	v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpc := *v.Vpc.VpcId
	if err := ec2.NewVpcAvailableWaiter(e, func(o *ec2.VpcAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}}, wait); err != nil {
		t.Fatalf("VpcAvailable waiter: %v", err)
	}
	if err := ec2.NewVpcExistsWaiter(e, func(o *ec2.VpcExistsWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}}, wait); err != nil {
		t.Fatalf("VpcExists waiter: %v", err)
	}
	for _, attr := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames, ec2types.VpcAttributeNameEnableNetworkAddressUsageMetrics} {
		out, err := e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &vpc, Attribute: attr})
		if err != nil {
			t.Fatalf("DescribeVpcAttribute %s: %v", attr, err)
		}
		var got *ec2types.AttributeBooleanValue
		switch attr {
		case ec2types.VpcAttributeNameEnableDnsSupport:
			got = out.EnableDnsSupport
		case ec2types.VpcAttributeNameEnableDnsHostnames:
			got = out.EnableDnsHostnames
		default:
			got = out.EnableNetworkAddressUsageMetrics
		}
		want := attr == ec2types.VpcAttributeNameEnableDnsSupport
		if got == nil || got.Value == nil || *got.Value != want {
			t.Errorf("attribute %s = %v, want %v", attr, got, want)
		}
	}
	rt, err := e.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("association.main", "true"), filter("vpc-id", vpc)}})
	if err != nil || len(rt.RouteTables) != 1 || len(rt.RouteTables[0].Routes) != 1 || *rt.RouteTables[0].Routes[0].DestinationCidrBlock != "10.0.0.0/16" {
		t.Fatalf("main route table: %v %+v", err, rt)
	}
	acl, err := e.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{filter("default", "true"), filter("vpc-id", vpc)}})
	if err != nil || len(acl.NetworkAcls) != 1 || !*acl.NetworkAcls[0].IsDefault {
		t.Fatalf("default network ACL: %v %+v", err, acl)
	}
	sgs, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-name", "default"), filter("vpc-id", vpc)}})
	if err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("default security group: %v %+v", err, sgs)
	}

	// aws_subnet and aws_security_group: Terraform revokes the default egress rule of a
	// new group and authorizes its own.
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		s, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, *s.Subnet.SubnetId)
	}
	if err := ec2.NewSubnetAvailableWaiter(e, func(o *ec2.SubnetAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets}, wait); err != nil {
		t.Fatalf("SubnetAvailable waiter: %v", err)
	}
	g, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("tf-nlb"), Description: aws.String("Managed by Terraform"), VpcId: &vpc})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec2.NewSecurityGroupExistsWaiter(e, func(o *ec2.SecurityGroupExistsWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*g.GroupId}}, wait); err != nil {
		t.Fatalf("SecurityGroupExists waiter: %v", err)
	}
	allTraffic := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	if _, err := e.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: allTraffic}); err != nil {
		t.Fatalf("revoking the default egress rule: %v", err)
	}
	if _, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*g.GroupId}})
	if err != nil || len(got.SecurityGroups[0].IpPermissionsEgress) != 0 || len(got.SecurityGroups[0].IpPermissions) != 1 {
		t.Fatalf("security group after Terraform's rule changes: %v %+v", err, got)
	}

	// aws_lb, aws_lb_target_group, aws_lb_listener.
	l, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("tf-nlb"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets, SecurityGroups: []string{*g.GroupId}})
	if err != nil {
		t.Fatal(err)
	}
	arn := *l.LoadBalancers[0].LoadBalancerArn
	if err := elbv2.NewLoadBalancerExistsWaiter(lb, func(o *elbv2.LoadBalancerExistsWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, wait); err != nil {
		t.Fatalf("LoadBalancerExists waiter: %v", err)
	}
	if err := elbv2.NewLoadBalancerAvailableWaiter(lb, func(o *elbv2.LoadBalancerAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, wait); err != nil {
		t.Fatalf("LoadBalancerAvailable waiter: %v", err)
	}
	if _, err := lb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: &arn,
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lb.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: &arn}); err != nil {
		t.Fatal(err)
	}
	tg, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("tf-tg"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(3306), VpcId: &vpc, TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := *tg.TargetGroups[0].TargetGroupArn
	if _, err := lb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: &tgArn, Attributes: []elbtypes.TargetGroupAttribute{
		{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")}, {Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	ln, err := lb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: &arn, Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(3306),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tgArn}}})
	if err != nil {
		t.Fatal(err)
	}
	if tags, err := lb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn, tgArn, *ln.Listeners[0].ListenerArn}}); err != nil || len(tags.TagDescriptions) != 3 {
		t.Fatalf("DescribeTags of the stack: %v %+v", err, tags)
	}
	target := []elbtypes.TargetDescription{{Id: aws.String("10.0.1.10"), Port: aws.Int32(3306)}}
	if _, err := lb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: &tgArn, Targets: target}); err != nil {
		t.Fatal(err)
	}

	// aws_vpc_endpoint_service, then a consumer's aws_vpc_endpoint.
	svc, err := e.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{arn}, AcceptanceRequired: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	svcID := *svc.ServiceConfiguration.ServiceId
	deadline := time.Now().Add(wait)
	for {
		out, err := e.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{svcID}})
		if err != nil {
			t.Fatal(err)
		}
		if out.ServiceConfigurations[0].ServiceState == ec2types.ServiceStateAvailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service state %s", out.ServiceConfigurations[0].ServiceState)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: &svcID, AddAllowedPrincipals: []string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		t.Fatal(err)
	}
	perms, err := e.DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: &svcID})
	if err != nil || len(perms.AllowedPrincipals) != 1 {
		t.Fatalf("permissions: %v %+v", err, perms)
	}
	c := env.EC2(consumer)
	cv, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: cv.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: cv.Vpc.VpcId,
		ServiceName: svc.ServiceConfiguration.ServiceName, SubnetIds: []string{*cs.Subnet.SubnetId}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		out, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpoint.VpcEndpointId}})
		if err != nil {
			t.Fatal(err)
		}
		if out.VpcEndpoints[0].State == "available" { // AWS writes endpoint states in lower camel case, unlike the SDK's enum
			if len(out.VpcEndpoints[0].NetworkInterfaceIds) != 1 || len(out.VpcEndpoints[0].DnsEntries) != 2 {
				t.Errorf("endpoint: %+v", out.VpcEndpoints[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint state %s", out.VpcEndpoints[0].State)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Destroy in Terraform's order; the deletion waiters must see everything go.
	if _, err := c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*ep.VpcEndpoint.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	for {
		out, err := e.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{svcID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Unsuccessful) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not deletable: %s", *out.Unsuccessful[0].Error.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := lb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: &tgArn, Targets: target}); err != nil {
		t.Fatal(err)
	}
	// The target drains for the group's deregistration delay (1 s here), then goes.
	if h, err := lb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: &tgArn, Targets: target}); err != nil ||
		len(h.TargetHealthDescriptions) != 1 || h.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumDraining {
		t.Errorf("health right after deregistering: %+v (%v)", h, err)
	}
	if err := elbv2.NewTargetDeregisteredWaiter(lb, func(o *elbv2.TargetDeregisteredWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: &tgArn, Targets: target}, wait); err != nil {
		t.Fatalf("TargetDeregistered waiter: %v", err)
	}
	if _, err := lb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: &arn}); err != nil {
		t.Fatal(err)
	}
	if err := elbv2.NewLoadBalancersDeletedWaiter(lb, func(o *elbv2.LoadBalancersDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = fast, fast }).Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, wait); err != nil {
		t.Fatalf("LoadBalancersDeleted waiter: %v", err)
	}
}
