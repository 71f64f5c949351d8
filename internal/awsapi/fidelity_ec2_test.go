package awsapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// TestFidelityEC2 checks, with aws-sdk-go-v2, the EC2 answers in which an AWS
// emulator's test suite (recorded against AWS) found Strait diverging. Each case
// cites the AWS documentation it follows.
func TestFidelityEC2(t *testing.T) {
	env := testenv.Start(t)
	e := env.EC2(provider)

	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html:
	// a group-id filter that names no security group ID is InvalidGroupId.Malformed.
	t.Run("DescribeSecurityGroupRules/malformed group-id filter", func(t *testing.T) {
		_, err := e.DescribeSecurityGroupRules(testenv.Ctx(t), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{"foobar"}}}})
		netWantCode(t, err, "InvalidGroupId.Malformed")
		out, err := e.DescribeSecurityGroupRules(testenv.Ctx(t), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-0123456789abcdef0"}}}})
		if err != nil || len(out.SecurityGroupRules) != 0 {
			t.Errorf("a well-formed group ID that matches nothing: %v %+v", err, out)
		}
	})

	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html and
	// API_CreateSubnet.html: Strait has no IPv6; asking for it is UnsupportedOperation
	// and creates nothing, instead of an IPv4-only VPC or subnet.
	t.Run("IPv6 refused", func(t *testing.T) {
		ctx := testenv.Ctx(t)
		_, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
		netWantCode(t, err, "UnsupportedOperation")
		vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("cidr"), Values: []string{"10.30.0.0/16"}}}})
		if err != nil || len(vpcs.Vpcs) != 0 {
			t.Fatalf("a refused CreateVpc left a VPC: %v %+v", err, vpcs)
		}
		v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(false)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, Ipv6Native: aws.Bool(true), Ipv6CidrBlock: aws.String("2600:1f18:1234:5600::/64")})
		netWantCode(t, err, "UnsupportedOperation")
		_, err = e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.30.1.0/24"), Ipv6CidrBlock: aws.String("2600:1f18:1234:5601::/64")})
		netWantCode(t, err, "UnsupportedOperation")
		subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*v.Vpc.VpcId}}}})
		if err != nil || len(subnets.Subnets) != 0 {
			t.Fatalf("a refused CreateSubnet left a subnet: %v %+v", err, subnets)
		}
		if _, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.30.1.0/24"), Ipv6Native: aws.Bool(false)}); err != nil {
			t.Errorf("Ipv6Native=false (as Terraform sends it): %v", err)
		}
	})

	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Subnet.html: a subnet
	// carries its hostname options for launches, its (empty) IPv6 associations and
	// MapCustomerOwnedIpOnLaunch, in CreateSubnet's answer as in DescribeSubnets'.
	t.Run("subnet shape", func(t *testing.T) {
		ctx := testenv.Ctx(t)
		v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.31.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		created, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.31.1.0/24")})
		if err != nil {
			t.Fatal(err)
		}
		described, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{*created.Subnet.SubnetId}})
		if err != nil || len(described.Subnets) != 1 {
			t.Fatalf("DescribeSubnets: %v %+v", err, described)
		}
		for what, s := range map[string]ec2types.Subnet{"CreateSubnet": *created.Subnet, "DescribeSubnets": described.Subnets[0]} {
			o := s.PrivateDnsNameOptionsOnLaunch
			if o == nil || o.HostnameType != ec2types.HostnameTypeIpName || o.EnableResourceNameDnsARecord == nil || *o.EnableResourceNameDnsARecord ||
				o.EnableResourceNameDnsAAAARecord == nil || *o.EnableResourceNameDnsAAAARecord {
				t.Errorf("%s: PrivateDnsNameOptionsOnLaunch %+v", what, o)
			}
			if s.Ipv6CidrBlockAssociationSet == nil || len(s.Ipv6CidrBlockAssociationSet) != 0 {
				t.Errorf("%s: Ipv6CidrBlockAssociationSet %+v, want an empty list", what, s.Ipv6CidrBlockAssociationSet)
			}
			if s.MapCustomerOwnedIpOnLaunch == nil || *s.MapCustomerOwnedIpOnLaunch {
				t.Errorf("%s: MapCustomerOwnedIpOnLaunch %v", what, s.MapCustomerOwnedIpOnLaunch)
			}
		}
	})

	// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html: VPC and
	// subnet blocks are /16 to /28; outside that, AWS answers InvalidVpc.Range and
	// InvalidSubnet.Range. Strait gives the same answer for a block overlapping its
	// transit range 169.254.0.0/16.
	t.Run("CIDR range", func(t *testing.T) {
		ctx := testenv.Ctx(t)
		for _, cidr := range []string{"10.1.0.0/29", "10.0.0.0/15", "169.254.0.0/16"} {
			_, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
			netWantCode(t, err, "InvalidVpc.Range")
		}
		v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.32.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		for _, cidr := range []string{"10.32.1.0/29", "10.33.1.0/24", "169.254.1.0/24"} {
			_, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(cidr)})
			netWantCode(t, err, "InvalidSubnet.Range")
		}
		_, err = e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/33")})
		netWantCode(t, err, "InvalidParameterValue")
	})

	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcAttribute.html:
	// EnableNetworkAddressUsageMetrics is modified alone and read back.
	t.Run("ModifyVpcAttribute/EnableNetworkAddressUsageMetrics", func(t *testing.T) {
		ctx := testenv.Ctx(t)
		v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.34.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: v.Vpc.VpcId,
			EnableNetworkAddressUsageMetrics: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: v.Vpc.VpcId, Attribute: ec2types.VpcAttributeNameEnableNetworkAddressUsageMetrics})
		if err != nil || got.EnableNetworkAddressUsageMetrics == nil || !*got.EnableNetworkAddressUsageMetrics.Value {
			t.Errorf("after enabling: %v %+v", err, got)
		}
		_, err = e.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: v.Vpc.VpcId})
		netWantCode(t, err, "MissingParameter")
	})
}

// awsDefaultInterfaceEndpointPolicy is the policy AWS shows for an interface
// endpoint created without one: no Version
// (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).
const awsDefaultInterfaceEndpointPolicy = `{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}`

// TestNetworkInterfaces follows
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkInterface.html and
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html
// with the SDK: a created interface holds an address of its subnet (which then
// cannot be deleted) until it is deleted; the groups of an instance's interface are
// the instance's groups.
func TestNetworkInterfaces(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	e := env.EC2(provider)
	n := plNetwork(t, env, provider, "us-east-1a")
	subnet := n.subnets["us-east-1a"]
	free := func() int32 {
		t.Helper()
		out, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Subnets[0].AvailableIpAddressCount
	}
	before := free()
	eni, err := e.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnet), Description: aws.String("spare")})
	if err != nil {
		t.Fatal(err)
	}
	id := eni.NetworkInterface.NetworkInterfaceId
	if eni.NetworkInterface.Status != ec2types.NetworkInterfaceStatusAvailable || eni.NetworkInterface.Attachment != nil ||
		len(eni.NetworkInterface.Groups) != 1 || *eni.NetworkInterface.Groups[0].GroupId != n.sg {
		t.Errorf("new interface: %+v", eni.NetworkInterface)
	}
	if got := free(); got != before-1 {
		t.Errorf("free addresses %d after creating an interface, want %d", got, before-1)
	}
	_, err = e.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnet)})
	netWantCode(t, err, "DependencyViolation")
	if _, err := e.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: id}); err != nil {
		t.Fatal(err)
	}
	if got := free(); got != before {
		t.Errorf("free addresses %d after deleting it, want %d", got, before)
	}

	web := netCreateSG(t, e, n.vpc, "web")
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	if _, err := e.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: inst.NetworkInterfaces[0].NetworkInterfaceId,
		Groups: []string{web}}); err != nil {
		t.Fatal(err)
	}
	got := waitInstanceState(t, e, *inst.InstanceId, ec2types.InstanceStateNameRunning)
	if len(got.SecurityGroups) != 1 || *got.SecurityGroups[0].GroupId != web {
		t.Errorf("instance groups after changing its interface's: %+v", got.SecurityGroups)
	}
	_, err = e.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: inst.NetworkInterfaces[0].NetworkInterfaceId})
	netWantCode(t, err, "InvalidNetworkInterface.InUse")
}
