package awsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/awsapi"
	"strait/internal/testenv"
)

// isoStack is what the provider and the consumer own in the isolation test.
type isoStack struct {
	provider, consumer plNet
	sgRule             string // a rule of the provider's default group
	eni                string // the provider NLB's node interface
	routeTable, acl    string
	lb, lbName         string
	tg, tgName         string
	listener           string
	service            string
	serviceName        string
	notification       string
	endpoint           string
	consumerSG         string
	instance           string // the provider's instance
}

// isoSetup builds a provider stack (VPC, subnets, security group, NLB, target group
// with a target, listener, endpoint service allowing the consumer, connection
// notification) and a consumer endpoint to the service.
func isoSetup(t *testing.T, env *testenv.Env) isoStack {
	t.Helper()
	ctx := testenv.Ctx(t)
	var s isoStack
	s.provider = plNetwork(t, env, provider, "us-east-1a", "us-east-1b")
	s.consumer = plNetwork(t, env, consumer, "us-east-1a")
	pe, pl := env.EC2(provider), env.ELB(provider)

	rules, err := pe.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{filter("group-id", s.provider.sg)}})
	if err != nil || len(rules.SecurityGroupRules) == 0 {
		t.Fatalf("rules of the provider's default group: %v %+v", err, rules)
	}
	s.sgRule = *rules.SecurityGroupRules[0].SecurityGroupRuleId
	rts, err := pe.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", s.provider.vpc)}})
	if err != nil || len(rts.RouteTables) == 0 {
		t.Fatalf("provider route tables: %v", err)
	}
	s.routeTable = *rts.RouteTables[0].RouteTableId
	acls, err := pe.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{filter("vpc-id", s.provider.vpc)}})
	if err != nil || len(acls.NetworkAcls) == 0 {
		t.Fatalf("provider network ACLs: %v", err)
	}
	s.acl = *acls.NetworkAcls[0].NetworkAclId
	if _, err := pe.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{s.provider.vpc}, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("db")}}}); err != nil {
		t.Fatal(err)
	}
	cg, err := env.EC2(consumer).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("clients"), Description: aws.String("clients"), VpcId: aws.String(s.consumer.vpc)})
	if err != nil {
		t.Fatal(err)
	}
	s.consumerSG = *cg.GroupId

	s.lbName, s.tgName = "iso-nlb", "iso-tg"
	s.lb = plNLB(t, env, provider, s.lbName, s.provider.subnets["us-east-1a"], s.provider.subnets["us-east-1b"])
	nlbWaitActive(t, pl, s.lb)
	enis, err := pe.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("vpc-id", s.provider.vpc)}})
	if err != nil || len(enis.NetworkInterfaces) == 0 {
		t.Fatalf("provider interfaces: %v", err)
	}
	s.eni = *enis.NetworkInterfaces[0].NetworkInterfaceId
	s.tg = nlbTargetGroup(t, pl, s.tgName, s.provider.vpc, 5432)
	if _, err := pl.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(s.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.50")}}}); err != nil {
		t.Fatal(err)
	}
	s.listener = nlbListener(t, pl, s.lb, s.tg, 5432)
	if _, err := pl.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{s.lb, s.tg, s.listener}, Tags: []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}}}); err != nil {
		t.Fatal(err)
	}

	svc := plService(t, env, provider, s.lb, aws.Bool(false), "")
	s.service, s.serviceName = *svc.ServiceId, *svc.ServiceName
	plWaitService(t, env, provider, s.service)
	plAllow(t, env, provider, s.service, "arn:aws:iam::"+consumer+":root")
	n, err := pe.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{
		ServiceId: aws.String(s.service), ConnectionNotificationArn: aws.String("arn:aws:sns:us-east-1:" + provider + ":events"),
		ConnectionEvents: []string{"Connect", "Accept"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.notification = *n.ConnectionNotification.ConnectionNotificationId
	ep := plEndpoint(t, env, consumer, s.consumer, s.serviceName, nil, "us-east-1a")
	s.endpoint = *ep.VpcEndpointId
	plWaitEndpoint(t, env, consumer, s.endpoint, "available")
	run, err := pe.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), SubnetId: aws.String(s.provider.subnets["us-east-1a"]),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	s.instance = *run.Instances[0].InstanceId
	waitInstanceState(t, pe, s.instance, ec2types.InstanceStateNameRunning)
	return s
}

// isoSnapshot renders everything the provider and the consumer can read, to check
// that the stranger's calls changed nothing.
func isoSnapshot(t *testing.T, env *testenv.Env, s isoStack) string {
	t.Helper()
	ctx := testenv.Ctx(t)
	var parts []any
	add := func(v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		parts = append(parts, v)
	}
	for _, acct := range []string{provider, consumer} {
		e := env.EC2(acct)
		add(e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
		add(e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}))
		add(e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
		add(e.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{}))
		add(e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{}))
		add(e.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{}))
		add(e.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{}))
		add(e.DescribeTags(ctx, &ec2.DescribeTagsInput{}))
		add(e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{}))
		add(e.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{}))
		add(e.DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{}))
		add(e.DescribeVpcEndpointConnectionNotifications(ctx, &ec2.DescribeVpcEndpointConnectionNotificationsInput{}))
		add(e.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{}))
		add(e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}))
		l := env.ELB(acct)
		add(l.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}))
		add(l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{}))
	}
	e, l := env.EC2(provider), env.ELB(provider)
	for _, attr := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		add(e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(s.provider.vpc), Attribute: attr}))
	}
	add(e.DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: aws.String(s.service)}))
	add(l.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(s.lb)}))
	add(l.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(s.tg)}))
	add(l.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(s.tg)}))
	add(l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(s.lb)}))
	add(l.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{s.lb, s.tg, s.listener}}))
	parts = append(parts, isoMoreSnapshot(t, env, s)...)
	b, err := json.MarshalIndent(parts, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeError is a batch action's first unsuccessful item, as an error with a code.
type codeError struct{ code, msg string }

func (e *codeError) Error() string     { return e.code + ": " + e.msg }
func (e *codeError) ErrorCode() string { return e.code }

// firstUnsuccessful turns a batch answer into an error: its first unsuccessful
// item, or err, or nil when every item succeeded.
func firstUnsuccessful(items []ec2types.UnsuccessfulItem, err error) error {
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Error != nil {
			return &codeError{aws.ToString(it.Error.Code), aws.ToString(it.Error.Message)}
		}
	}
	return nil
}

// isoCase is one call the stranger makes with IDs of the other accounts.
type isoCase struct {
	action string // the action, as registered
	name   string // what is tried
	want   string // the NotFound-type code of that action ("": succeeds, changing nothing)
	call   func(ctx context.Context) error
}

// isoActionsWithoutIDs are the actions that name no resource of another account
// (or name them only through filters): TestIsolation checks that their listings
// are empty for the stranger instead. DescribePrefixLists names AWS-managed
// prefix lists, which belong to no account.
var isoActionsWithoutIDs = []string{
	"CreateVpc", "DescribeAccountAttributes", "DescribeAvailabilityZones", "DescribeTags",
	"DescribeVpcEndpointConnections", "DescribePrefixLists",
}

func isoCases(s isoStack, e *ec2.Client, l *elbv2.Client) []isoCase {
	forge := func(arn string) string { return strings.Replace(arn, ":"+provider+":", ":"+stranger+":", 1) }
	sns := aws.String("arn:aws:sns:us-east-1:" + stranger + ":events")
	perm := func(ip string) []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(ip)}}}}
	}
	tag := []ec2types.Tag{{Key: aws.String("owner"), Value: aws.String("stranger")}}
	elbTag := []elbtypes.Tag{{Key: aws.String("owner"), Value: aws.String("stranger")}}
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.tg)}}
	target := []elbtypes.TargetDescription{{Id: aws.String("10.0.1.50")}}
	ignore := func(_ any, err error) error { return err }
	return []isoCase{
		// EC2: networks.
		{"CreateSubnet", "in the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(s.provider.vpc), CidrBlock: aws.String("10.0.9.0/24")}))
		}},
		{"DeleteSubnet", "the provider's subnet", "InvalidSubnetID.NotFound", func(ctx context.Context) error {
			return ignore(e.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(s.provider.subnets["us-east-1a"])}))
		}},
		{"DescribeSubnets", "the consumer's subnet", "InvalidSubnetID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{s.consumer.subnets["us-east-1a"]}}))
		}},
		{"DeleteVpc", "the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(s.provider.vpc)}))
		}},
		{"DescribeVpcs", "the consumer's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{s.consumer.vpc}}))
		}},
		{"DescribeVpcAttribute", "of the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(s.provider.vpc), Attribute: ec2types.VpcAttributeNameEnableDnsSupport}))
		}},
		{"ModifyVpcAttribute", "of the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(s.provider.vpc), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}))
		}},
		{"DescribeNetworkInterfaces", "the provider NLB's interface", "InvalidNetworkInterfaceID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{s.eni}}))
		}},
		{"DescribeRouteTables", "the provider's route table", "InvalidRouteTableID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{s.routeTable}}))
		}},
		{"DescribeNetworkAcls", "the provider's network ACL", "InvalidNetworkAclID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{s.acl}}))
		}},
		{"CreateTags", "on the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{s.provider.vpc}, Tags: tag}))
		}},
		{"DeleteTags", "of the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{s.provider.vpc}, Tags: []ec2types.Tag{{Key: aws.String("team")}}}))
		}},

		// EC2: instances.
		{"RunInstances", "in the provider's subnet", "InvalidSubnetID.NotFound", func(ctx context.Context) error {
			return ignore(e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), SubnetId: aws.String(s.provider.subnets["us-east-1a"]),
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}))
		}},
		{"DescribeInstances", "the provider's instance", "InvalidInstanceID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.instance}}))
		}},
		{"TerminateInstances", "the provider's instance", "InvalidInstanceID.NotFound", func(ctx context.Context) error {
			return ignore(e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{s.instance}}))
		}},

		// EC2: security groups.
		{"CreateSecurityGroup", "in the provider's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x"), VpcId: aws.String(s.provider.vpc)}))
		}},
		{"DeleteSecurityGroup", "the consumer's group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(s.consumerSG)}))
		}},
		{"DescribeSecurityGroups", "the provider's default group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{s.provider.sg}}))
		}},
		{"DescribeSecurityGroupRules", "a rule of the provider's group", "InvalidSecurityGroupRuleId.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{s.sgRule}}))
		}},
		{"AuthorizeSecurityGroupIngress", "on the provider's group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(s.provider.sg), IpPermissions: perm("0.0.0.0/0")}))
		}},
		{"AuthorizeSecurityGroupEgress", "on the consumer's group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(s.consumerSG), IpPermissions: perm("10.9.0.0/16")}))
		}},
		{"RevokeSecurityGroupIngress", "from the provider's group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(s.provider.sg), SecurityGroupRuleIds: []string{s.sgRule}}))
		}},
		{"RevokeSecurityGroupEgress", "from the provider's group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(s.provider.sg), SecurityGroupRuleIds: []string{s.sgRule}}))
		}},

		// EC2: PrivateLink.
		{"CreateVpcEndpointServiceConfiguration", "for the provider's NLB", "InvalidParameter", func(ctx context.Context) error {
			return ignore(e.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{s.lb}}))
		}},
		{"DescribeVpcEndpointServiceConfigurations", "the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{s.service}}))
		}},
		{"ModifyVpcEndpointServiceConfiguration", "the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifyVpcEndpointServiceConfiguration(ctx, &ec2.ModifyVpcEndpointServiceConfigurationInput{ServiceId: aws.String(s.service), AcceptanceRequired: aws.Bool(true)}))
		}},
		{"DeleteVpcEndpointServiceConfigurations", "the provider's service", "InvalidVpcEndpointService.NotFound", func(ctx context.Context) error {
			out, err := e.DeleteVpcEndpointServiceConfigurations(ctx, &ec2.DeleteVpcEndpointServiceConfigurationsInput{ServiceIds: []string{s.service}})
			if err != nil {
				return err
			}
			return firstUnsuccessful(out.Unsuccessful, nil)
		}},
		{"DescribeVpcEndpointServicePermissions", "of the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeVpcEndpointServicePermissions(ctx, &ec2.DescribeVpcEndpointServicePermissionsInput{ServiceId: aws.String(s.service)}))
		}},
		{"ModifyVpcEndpointServicePermissions", "allowing itself on the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: aws.String(s.service), AddAllowedPrincipals: []string{"arn:aws:iam::" + stranger + ":root"}}))
		}},
		{"StartVpcEndpointServicePrivateDnsVerification", "of the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.StartVpcEndpointServicePrivateDnsVerification(ctx, &ec2.StartVpcEndpointServicePrivateDnsVerificationInput{ServiceId: aws.String(s.service)}))
		}},
		{"DescribeVpcEndpointServices", "the provider's service, not shared with it", "InvalidServiceName", func(ctx context.Context) error {
			return ignore(e.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{s.serviceName}}))
		}},
		{"AcceptVpcEndpointConnections", "on the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			out, err := e.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: aws.String(s.service), VpcEndpointIds: []string{s.endpoint}})
			if err != nil {
				return err
			}
			return firstUnsuccessful(out.Unsuccessful, nil)
		}},
		{"RejectVpcEndpointConnections", "on the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			out, err := e.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: aws.String(s.service), VpcEndpointIds: []string{s.endpoint}})
			if err != nil {
				return err
			}
			return firstUnsuccessful(out.Unsuccessful, nil)
		}},
		{"CreateVpcEndpoint", "in the consumer's VPC", "InvalidVpcID.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(s.consumer.vpc),
				ServiceName: aws.String(s.serviceName), SubnetIds: []string{s.consumer.subnets["us-east-1a"]}}))
		}},
		{"DescribeVpcEndpoints", "the consumer's endpoint", "InvalidVpcEndpointId.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{s.endpoint}}))
		}},
		{"ModifyVpcEndpoint", "the consumer's endpoint", "InvalidVpcEndpointId.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(s.endpoint), AddSecurityGroupIds: []string{s.consumerSG}}))
		}},
		{"DeleteVpcEndpoints", "the consumer's endpoint", "InvalidVpcEndpoint.NotFound", func(ctx context.Context) error {
			out, err := e.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{s.endpoint}})
			if err != nil {
				return err
			}
			return firstUnsuccessful(out.Unsuccessful, nil)
		}},
		{"CreateVpcEndpointConnectionNotification", "on the provider's service", "InvalidVpcEndpointServiceId.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{ServiceId: aws.String(s.service), ConnectionNotificationArn: sns, ConnectionEvents: []string{"Connect"}}))
		}},
		{"CreateVpcEndpointConnectionNotification", "on the consumer's endpoint", "InvalidVpcEndpointId.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateVpcEndpointConnectionNotification(ctx, &ec2.CreateVpcEndpointConnectionNotificationInput{VpcEndpointId: aws.String(s.endpoint), ConnectionNotificationArn: sns, ConnectionEvents: []string{"Connect"}}))
		}},
		{"DescribeVpcEndpointConnectionNotifications", "the provider's notification", "InvalidConnectionNotification", func(ctx context.Context) error {
			return ignore(e.DescribeVpcEndpointConnectionNotifications(ctx, &ec2.DescribeVpcEndpointConnectionNotificationsInput{ConnectionNotificationId: aws.String(s.notification)}))
		}},
		{"ModifyVpcEndpointConnectionNotification", "the provider's notification", "InvalidConnectionNotification", func(ctx context.Context) error {
			return ignore(e.ModifyVpcEndpointConnectionNotification(ctx, &ec2.ModifyVpcEndpointConnectionNotificationInput{ConnectionNotificationId: aws.String(s.notification), ConnectionEvents: []string{"Reject"}}))
		}},
		{"DeleteVpcEndpointConnectionNotifications", "the provider's notification", "InvalidConnectionNotification", func(ctx context.Context) error {
			out, err := e.DeleteVpcEndpointConnectionNotifications(ctx, &ec2.DeleteVpcEndpointConnectionNotificationsInput{ConnectionNotificationIds: []string{s.notification}})
			if err != nil {
				return err
			}
			return firstUnsuccessful(out.Unsuccessful, nil)
		}},

		// ELBv2: load balancers.
		{"CreateLoadBalancer", "in the provider's subnets", "SubnetNotFound", func(ctx context.Context) error {
			return ignore(l.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("steal"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
				Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: []string{s.provider.subnets["us-east-1a"]}}))
		}},
		{"DescribeLoadBalancers", "the provider's NLB by ARN", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{s.lb}}))
		}},
		{"DescribeLoadBalancers", "the provider's NLB by a forged ARN", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{forge(s.lb)}}))
		}},
		{"DescribeLoadBalancers", "the provider's NLB by name", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.lbName}}))
		}},
		{"DeleteLoadBalancer", "the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(s.lb)}))
		}},
		// An ARN in the caller's own account names a load balancer that does not
		// exist: deleting it succeeds, as in AWS, and deletes nothing.
		{"DeleteLoadBalancer", "the provider's NLB by a forged ARN", "", func(ctx context.Context) error {
			return ignore(l.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(forge(s.lb))}))
		}},
		{"DescribeLoadBalancerAttributes", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(s.lb)}))
		}},
		{"ModifyLoadBalancerAttributes", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(s.lb),
				Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}))
		}},

		// ELBv2: target groups and targets.
		{"CreateTargetGroup", "in the provider's VPC", "ValidationError", func(ctx context.Context) error {
			return ignore(l.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("steal"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: aws.String(s.provider.vpc)}))
		}},
		{"DescribeTargetGroups", "the provider's group by ARN", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{s.tg}}))
		}},
		{"DescribeTargetGroups", "the provider's group by a forged ARN", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{forge(s.tg)}}))
		}},
		{"DescribeTargetGroups", "the provider's group by name", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{s.tgName}}))
		}},
		{"DescribeTargetGroups", "the groups of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(s.lb)}))
		}},
		{"ModifyTargetGroup", "the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(s.tg), HealthCheckIntervalSeconds: aws.Int32(10)}))
		}},
		{"DeleteTargetGroup", "the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(s.tg)}))
		}},
		{"DeleteTargetGroup", "the provider's group by a forged ARN", "", func(ctx context.Context) error {
			return ignore(l.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(forge(s.tg))}))
		}},
		{"DescribeTargetGroupAttributes", "of the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(s.tg)}))
		}},
		{"ModifyTargetGroupAttributes", "of the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(s.tg),
				Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")}}}))
		}},
		{"RegisterTargets", "in the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(s.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.1.66")}}}))
		}},
		{"DeregisterTargets", "from the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(s.tg), Targets: target}))
		}},
		{"DescribeTargetHealth", "of the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(s.tg)}))
		}},

		// ELBv2: listeners.
		{"CreateListener", "on the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(s.lb), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(22), DefaultActions: forward}))
		}},
		{"DescribeListeners", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(s.lb)}))
		}},
		{"DescribeListeners", "the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{s.listener}}))
		}},
		{"DescribeListeners", "the provider's listener by a forged ARN", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{forge(s.listener)}}))
		}},
		{"ModifyListener", "the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.listener), Port: aws.Int32(2222)}))
		}},
		{"DeleteListener", "the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(s.listener)}))
		}},

		// ELBv2: tags, for each kind of resource.
		{"AddTags", "to the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{s.lb}, Tags: elbTag}))
		}},
		{"AddTags", "to the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{s.tg}, Tags: elbTag}))
		}},
		{"AddTags", "to the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{s.listener}, Tags: elbTag}))
		}},
		{"RemoveTags", "from the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{s.lb}, TagKeys: []string{"team"}}))
		}},
		{"RemoveTags", "from the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{s.tg}, TagKeys: []string{"team"}}))
		}},
		{"RemoveTags", "from the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{s.listener}, TagKeys: []string{"team"}}))
		}},
		{"DescribeTags", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{s.lb}}))
		}},
		{"DescribeTags", "of the provider's group", "TargetGroupNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{s.tg}}))
		}},
		{"DescribeTags", "of the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{forge(s.listener)}}))
		}},
	}
}

// TestIsolation checks, for every action that names a resource, that a third
// account naming the provider's or the consumer's resources gets that action's
// NotFound-type error and changes nothing, and that the third account's listings
// are empty.
func TestIsolation(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	s := isoSetup(t, env)
	e, l := env.EC2(stranger), env.ELB(stranger)
	cases := append(isoCases(s, e, l), isoMoreCases(s, e, l)...)

	// Every registered action is either tried with foreign IDs or known to take none.
	tried := map[string]bool{}
	for _, c := range cases {
		tried[c.action] = true
	}
	for svc, actions := range awsapi.Actions() {
		for _, a := range actions {
			if !tried[a] && !slices.Contains(isoActionsWithoutIDs, a) {
				t.Errorf("%s action %s is not tried with another account's IDs: add a case to isoCases (or, if it takes no ID, to isoActionsWithoutIDs)", svc, a)
			}
		}
	}

	before := isoSnapshot(t, env, s)
	for _, c := range cases {
		t.Run(c.action+"/"+c.name, func(t *testing.T) {
			err := c.call(ctx)
			if got := netErrCode(err); got != c.want {
				t.Errorf("%s %s as a third account: error %v (code %q), want %s", c.action, c.name, err, got, c.want)
			}
		})
	}
	if after := isoSnapshot(t, env, s); after != before {
		t.Errorf("the third account's calls changed the other accounts' resources:\n%s", isoDiff(before, after))
	}

	// The third account sees nothing of the others in listings (its own default VPC
	// set aside first).
	deleteDefaultVpc(t, env, stranger)
	empty := []struct {
		name string
		n    func() (int, error)
	}{
		{"DescribeVpcs", func() (int, error) {
			o, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return lenOf(o, err, func() int { return len(o.Vpcs) })
		}},
		{"DescribeSubnets", func() (int, error) {
			o, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
			return lenOf(o, err, func() int { return len(o.Subnets) })
		}},
		{"DescribeSecurityGroups", func() (int, error) {
			o, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
			return lenOf(o, err, func() int { return len(o.SecurityGroups) })
		}},
		{"DescribeSecurityGroupRules", func() (int, error) {
			o, err := e.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{})
			return lenOf(o, err, func() int { return len(o.SecurityGroupRules) })
		}},
		{"DescribeNetworkInterfaces", func() (int, error) {
			o, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
			return lenOf(o, err, func() int { return len(o.NetworkInterfaces) })
		}},
		{"DescribeRouteTables", func() (int, error) {
			o, err := e.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
			return lenOf(o, err, func() int { return len(o.RouteTables) })
		}},
		{"DescribeNetworkAcls", func() (int, error) {
			o, err := e.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
			return lenOf(o, err, func() int { return len(o.NetworkAcls) })
		}},
		{"DescribeTags", func() (int, error) {
			o, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{})
			return lenOf(o, err, func() int { return len(o.Tags) })
		}},
		{"DescribeTags resource-id", func() (int, error) {
			o, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{filter("resource-id", s.provider.vpc)}})
			return lenOf(o, err, func() int { return len(o.Tags) })
		}},
		{"DescribeInstances", func() (int, error) {
			o, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return lenOf(o, err, func() int { return len(o.Reservations) })
		}},
		{"DescribeInstances vpc-id", func() (int, error) {
			o, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("vpc-id", s.provider.vpc)}})
			return lenOf(o, err, func() int { return len(o.Reservations) })
		}},
		{"DescribeVpcEndpoints", func() (int, error) {
			o, err := e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			return lenOf(o, err, func() int { return len(o.VpcEndpoints) })
		}},
		{"DescribeVpcEndpointServiceConfigurations", func() (int, error) {
			o, err := e.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
			return lenOf(o, err, func() int { return len(o.ServiceConfigurations) })
		}},
		{"DescribeVpcEndpointConnections", func() (int, error) {
			o, err := e.DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{})
			return lenOf(o, err, func() int { return len(o.VpcEndpointConnections) })
		}},
		{"DescribeVpcEndpointConnections service-id", func() (int, error) {
			o, err := e.DescribeVpcEndpointConnections(ctx, &ec2.DescribeVpcEndpointConnectionsInput{Filters: []ec2types.Filter{filter("service-id", s.service)}})
			return lenOf(o, err, func() int { return len(o.VpcEndpointConnections) })
		}},
		{"DescribeVpcEndpointConnectionNotifications", func() (int, error) {
			o, err := e.DescribeVpcEndpointConnectionNotifications(ctx, &ec2.DescribeVpcEndpointConnectionNotificationsInput{})
			return lenOf(o, err, func() int { return len(o.ConnectionNotificationSet) })
		}},
		{"DescribeVpcEndpointServices (the provider's)", func() (int, error) {
			o, err := e.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{})
			return lenOf(o, err, func() int {
				return len(slices.DeleteFunc(o.ServiceDetails, func(d ec2types.ServiceDetail) bool { return aws.ToString(d.ServiceId) != s.service }))
			})
		}},
		{"DescribeLoadBalancers", func() (int, error) {
			o, err := l.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
			return lenOf(o, err, func() int { return len(o.LoadBalancers) })
		}},
		{"DescribeTargetGroups", func() (int, error) {
			o, err := l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
			return lenOf(o, err, func() int { return len(o.TargetGroups) })
		}},
	}
	for _, c := range empty {
		if n, err := c.n(); err != nil || n != 0 {
			t.Errorf("%s as a third account: %d items, error %v; want none", c.name, n, err)
		}
	}
}

// lenOf is n() when err is nil.
func lenOf(_ any, err error, n func() int) (int, error) {
	if err != nil {
		return 0, err
	}
	return n(), nil
}

// isoDiff shows the first lines where two snapshots differ.
func isoDiff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for i := 0; i < max(len(a), len(b)) && len(out) < 20; i++ {
		var x, y string
		if i < len(b) {
			x = b[i]
		}
		if i < len(a) {
			y = a[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d: before %q, after %q", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}
