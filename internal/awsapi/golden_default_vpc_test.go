package awsapi_test

// goldenDefaultVpc covers the provider's default VPC
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): 172.31.0.0/16
// with a default /20 subnet per zone, found by the isDefault and default-for-az
// filters, named by DescribeAccountAttributes; deleted like any VPC, after which a
// group or an instance without a VPC is VPCIdNotSpecified and CreateDefaultVpc makes
// a new one (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateDefaultVpc.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateDefaultSubnet.html).
func goldenDefaultVpc() []goldenStep {
	ec2 := func(name, action string, params map[string]string) goldenStep {
		return goldenStep{Name: name, Service: "ec2", Account: provider, Action: action, Params: params}
	}
	fail := func(s goldenStep) goldenStep { s.Status = 400; return s }
	capture := func(s goldenStep, name, elem string) goldenStep { s.Capture = map[string]string{name: elem}; return s }
	defaultSubnet := func(az string) map[string]string {
		return map[string]string{"Filter.1.Name": "default-for-az", "Filter.1.Value.1": "true", "Filter.2.Name": "availability-zone", "Filter.2.Value.1": az}
	}
	return []goldenStep{
		capture(ec2("DescribeVpcs.default", "DescribeVpcs", map[string]string{"Filter.1.Name": "is-default", "Filter.1.Value.1": "true"}), "default_vpc", "vpcId"),
		capture(ec2("DescribeSubnets.default-a", "DescribeSubnets", defaultSubnet("us-east-1a")), "default_subnet_a", "subnetId"),
		capture(ec2("DescribeSubnets.default-b", "DescribeSubnets", defaultSubnet("us-east-1b")), "default_subnet_b", "subnetId"),
		capture(ec2("DescribeSubnets.default-c", "DescribeSubnets", defaultSubnet("us-east-1c")), "default_subnet_c", "subnetId"),
		ec2("DescribeAccountAttributes.default-vpc", "DescribeAccountAttributes", map[string]string{"AttributeName.1": "default-vpc"}),
		ec2("DescribeVpcAttribute.default-dns-hostnames", "DescribeVpcAttribute", map[string]string{"VpcId": "{{default_vpc}}", "Attribute": "enableDnsHostnames"}),
		fail(ec2("CreateDefaultVpc.error-exists", "CreateDefaultVpc", nil)),
		fail(ec2("CreateDefaultSubnet.error-exists", "CreateDefaultSubnet", map[string]string{"AvailabilityZone": "us-east-1a"})),

		// The account deletes its default VPC: nothing recreates it behind its back.
		ec2("DeleteSecurityGroup.default-vpc", "DeleteSecurityGroup", map[string]string{"GroupId": "{{default_vpc_sg}}"}),
		ec2("DeleteSubnet.default-a", "DeleteSubnet", map[string]string{"SubnetId": "{{default_subnet_a}}"}),
		ec2("DeleteSubnet.default-b", "DeleteSubnet", map[string]string{"SubnetId": "{{default_subnet_b}}"}),
		ec2("DeleteSubnet.default-c", "DeleteSubnet", map[string]string{"SubnetId": "{{default_subnet_c}}"}),
		ec2("DeleteVpc.default", "DeleteVpc", map[string]string{"VpcId": "{{default_vpc}}"}),
		ec2("DescribeVpcs.no-default", "DescribeVpcs", map[string]string{"Filter.1.Name": "isDefault", "Filter.1.Value.1": "true"}),
		ec2("DescribeAccountAttributes.no-default-vpc", "DescribeAccountAttributes", map[string]string{"AttributeName.1": "default-vpc"}),
		fail(ec2("CreateSecurityGroup.error-no-vpc", "CreateSecurityGroup", map[string]string{"GroupName": "web", "GroupDescription": "no VPC given"})),
		fail(ec2("RunInstances.error-no-subnet", "RunInstances", map[string]string{"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1"})),
		fail(ec2("CreateDefaultSubnet.error-no-default-vpc", "CreateDefaultSubnet", map[string]string{"AvailabilityZone": "us-east-1a"})),

		// CreateDefaultVpc makes a new one, with its default subnets; a deleted default
		// subnet comes back with CreateDefaultSubnet.
		capture(ec2("CreateDefaultVpc", "CreateDefaultVpc", nil), "default_vpc2", "vpcId"),
		capture(ec2("DescribeSubnets.new-default-b", "DescribeSubnets", defaultSubnet("us-east-1b")), "default_subnet_b2", "subnetId"),
		ec2("DeleteSubnet.new-default-b", "DeleteSubnet", map[string]string{"SubnetId": "{{default_subnet_b2}}"}),
		ec2("CreateDefaultSubnet", "CreateDefaultSubnet", map[string]string{"AvailabilityZone": "us-east-1b"}),
	}
}
