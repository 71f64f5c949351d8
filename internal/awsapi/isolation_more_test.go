package awsapi_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

// isoMoreCases are TestIsolation's cases for the actions added for AWS tools
// beyond the guides (issue 20).
func isoMoreCases(s isoStack, e *ec2.Client, l *elbv2.Client) []isoCase {
	ignore := func(_ any, err error) error { return err }
	return []isoCase{
		// The default VPC calls name no resource: the stranger's concern its own.
		{"CreateDefaultVpc", "while it has its own", "DefaultVpcAlreadyExists", func(ctx context.Context) error {
			return ignore(e.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{}))
		}},
		{"CreateDefaultSubnet", "where it has its own", "DefaultSubnetAlreadyExistsInAvailabilityZone", func(ctx context.Context) error {
			return ignore(e.CreateDefaultSubnet(ctx, &ec2.CreateDefaultSubnetInput{AvailabilityZone: aws.String("us-east-1a")}))
		}},
		{"ModifySecurityGroupRules", "of the provider's default group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(s.provider.sg),
				SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(s.sgRule),
					SecurityGroupRule: &ec2types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("0.0.0.0/0")}}}}))
		}},
		{"UpdateSecurityGroupRuleDescriptionsIngress", "of the provider's default group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(s.provider.sg),
				SecurityGroupRuleDescriptions: []ec2types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(s.sgRule), Description: aws.String("mine")}}}))
		}},
		{"UpdateSecurityGroupRuleDescriptionsEgress", "of the provider's default group", "InvalidGroup.NotFound", func(ctx context.Context) error {
			return ignore(e.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(s.provider.sg),
				SecurityGroupRuleDescriptions: []ec2types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(s.sgRule), Description: aws.String("mine")}}}))
		}},
		{"ModifySubnetAttribute", "of the provider's subnet", "InvalidSubnetID.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(s.provider.subnets["us-east-1a"]),
				MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}))
		}},
		{"CreateNetworkInterface", "in the provider's subnet", "InvalidSubnetID.NotFound", func(ctx context.Context) error {
			return ignore(e.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(s.provider.subnets["us-east-1a"])}))
		}},
		{"DescribeNetworkInterfaceAttribute", "of the provider's NLB node", "InvalidNetworkInterfaceID.NotFound", func(ctx context.Context) error {
			return ignore(e.DescribeNetworkInterfaceAttribute(ctx, &ec2.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(s.eni),
				Attribute: ec2types.NetworkInterfaceAttributeDescription}))
		}},
		{"ModifyNetworkInterfaceAttribute", "of the provider's NLB node", "InvalidNetworkInterfaceID.NotFound", func(ctx context.Context) error {
			return ignore(e.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(s.eni),
				Description: &ec2types.AttributeValue{Value: aws.String("mine")}}))
		}},
		{"DeleteNetworkInterface", "of the provider's NLB node", "InvalidNetworkInterfaceID.NotFound", func(ctx context.Context) error {
			return ignore(e.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(s.eni)}))
		}},
		{"SetSubnets", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(s.lb), Subnets: []string{s.provider.subnets["us-east-1a"]}}))
		}},
		{"SetSecurityGroups", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(s.lb), SecurityGroups: []string{s.consumerSG}}))
		}},
		{"SetIpAddressType", "of the provider's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			return ignore(l.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String(s.lb), IpAddressType: elbtypes.IpAddressTypeIpv4}))
		}},
		{"DescribeAccountLimits", "(names no resource)", "", func(ctx context.Context) error {
			return ignore(l.DescribeAccountLimits(ctx, &elbv2.DescribeAccountLimitsInput{}))
		}},
		{"DescribeListenerAttributes", "of the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.DescribeListenerAttributes(ctx, &elbv2.DescribeListenerAttributesInput{ListenerArn: aws.String(s.listener)}))
		}},
		{"ModifyListenerAttributes", "of the provider's listener", "ListenerNotFound", func(ctx context.Context) error {
			return ignore(l.ModifyListenerAttributes(ctx, &elbv2.ModifyListenerAttributesInput{ListenerArn: aws.String(s.listener),
				Attributes: []elbtypes.ListenerAttribute{{Key: aws.String("tcp.idle_timeout.seconds"), Value: aws.String("60")}}}))
		}},
	}
}

// isoMoreSnapshot reads what isoMoreCases could change.
func isoMoreSnapshot(t *testing.T, env *testenv.Env, s isoStack) []any {
	t.Helper()
	ctx := testenv.Ctx(t)
	attrs, err := env.ELB(provider).DescribeListenerAttributes(ctx, &elbv2.DescribeListenerAttributesInput{ListenerArn: aws.String(s.listener)})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return []any{attrs.Attributes}
}
