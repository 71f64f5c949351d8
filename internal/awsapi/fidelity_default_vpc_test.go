package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// TestDefaultVpc follows https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html
// with the SDK: an account has a default VPC 172.31.0.0/16 with DNS hostnames on, a
// default /20 subnet in each zone and a default security group; a security group
// created without VpcId and an instance launched without a subnet go there, and a
// group name names the default VPC's group. Deleted, it stays deleted (a group
// without VpcId is then VPCIdNotSpecified) until CreateDefaultVpc
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateDefaultVpc.html).
func TestDefaultVpc(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	e := env.EC2(provider)
	isDefault := []ec2types.Filter{{Name: aws.String("isDefault"), Values: []string{"true"}}}

	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: isDefault})
	if err != nil || len(vpcs.Vpcs) != 1 || *vpcs.Vpcs[0].CidrBlock != "172.31.0.0/16" || !*vpcs.Vpcs[0].IsDefault {
		t.Fatalf("default VPC: %v %+v", err, vpcs)
	}
	dv := *vpcs.Vpcs[0].VpcId
	hostnames, err := e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &dv, Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !*hostnames.EnableDnsHostnames.Value {
		t.Errorf("DNS hostnames of the default VPC: %v %+v", err, hostnames)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(subnets.Subnets) != 3 {
		t.Fatalf("default subnets: %v %+v", err, subnets)
	}
	byZone := map[string]string{}
	for _, s := range subnets.Subnets {
		byZone[*s.AvailabilityZone] = *s.CidrBlock
		if *s.VpcId != dv || !*s.DefaultForAz {
			t.Errorf("default subnet %+v", s)
		}
	}
	if byZone["us-east-1a"] != "172.31.0.0/20" || byZone["us-east-1b"] != "172.31.16.0/20" || byZone["us-east-1c"] != "172.31.32.0/20" {
		t.Errorf("default subnets by zone: %v", byZone)
	}

	// A group without VpcId is in the default VPC; its name names it, even with a
	// group of the same name in another VPC.
	g, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: other.Vpc.VpcId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupName: aws.String("web"),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("172.31.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	got, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*g.GroupId}})
	if err != nil || *got.SecurityGroups[0].VpcId != dv || len(got.SecurityGroups[0].IpPermissions) != 1 {
		t.Errorf("group created without VpcId, authorized by name: %v %+v", err, got)
	}

	// An instance without a subnet goes to the default subnet of its zone.
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1b")}, SecurityGroups: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	if *inst.VpcId != dv || *inst.Placement.AvailabilityZone != "us-east-1b" || len(inst.SecurityGroups) != 1 || *inst.SecurityGroups[0].GroupId != *g.GroupId {
		t.Errorf("instance without a subnet: %+v", inst)
	}
	if _, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*inst.InstanceId}}); err != nil {
		t.Fatal(err)
	}
	waitInstanceState(t, e, *inst.InstanceId, ec2types.InstanceStateNameTerminated)
	if _, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil {
		t.Fatal(err)
	}

	// Deleted, it stays deleted; CreateDefaultVpc makes a new one.
	deleteDefaultVpc(t, env, provider)
	_, err = e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web2"), Description: aws.String("web")})
	netWantCode(t, err, "VPCIdNotSpecified")
	if vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: isDefault}); err != nil || len(vpcs.Vpcs) != 0 {
		t.Fatalf("after deleting the default VPC: %v %+v", err, vpcs)
	}
	created, err := e.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{})
	if err != nil || !*created.Vpc.IsDefault || *created.Vpc.VpcId == dv {
		t.Fatalf("CreateDefaultVpc: %v %+v", err, created)
	}
	subnets, err = e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*created.Vpc.VpcId}}}})
	if err != nil || len(subnets.Subnets) != 3 {
		t.Errorf("subnets of the new default VPC: %v %+v", err, subnets)
	}
	_, err = e.CreateDefaultVpc(ctx, &ec2.CreateDefaultVpcInput{})
	netWantCode(t, err, "DefaultVpcAlreadyExists")
}
