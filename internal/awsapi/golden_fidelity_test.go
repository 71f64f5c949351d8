package awsapi_test

// goldenFidelity covers what AWS tools beyond the guides need (issue 20): the
// listener attributes that Terraform's aws_lb_listener reads after creating a
// listener, and the divergences found by an AWS emulator's test suite. Each step
// cites the AWS documentation it follows.
func goldenFidelity() []goldenStep {
	var steps []goldenStep
	for _, part := range [][]goldenStep{goldenListenerAttributes(), goldenFidelityEC2(), goldenLoadBalancerUpdates(), goldenRuleUpdates(), goldenNetworkInterfaces()} {
		steps = append(steps, part...)
	}
	return steps
}

// goldenFidelityEC2 covers the EC2 divergences.
func goldenFidelityEC2() []goldenStep {
	return []goldenStep{
		// A group-id filter value that is no security group ID is InvalidGroupId.Malformed
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
		{Name: "DescribeSecurityGroupRules.error-malformed-group-filter", Service: "ec2", Account: provider, Action: "DescribeSecurityGroupRules",
			Params: map[string]string{"Filter.1.Name": "group-id", "Filter.1.Value.1": "foobar"}, Status: 400},
		// IPv6 is refused with UnsupportedOperation, not silently dropped
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
		{Name: "CreateVpc.error-ipv6", Service: "ec2", Account: provider, Action: "CreateVpc",
			Params: map[string]string{"CidrBlock": "10.20.0.0/16", "AmazonProvidedIpv6CidrBlock": "true"}, Status: 400},
		{Name: "CreateSubnet.error-ipv6-native", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params: map[string]string{"VpcId": "{{vpc}}", "Ipv6Native": "true", "Ipv6CidrBlock": "2600:1f18:1234:5600::/64"}, Status: 400},
		{Name: "CreateSubnet.error-ipv6-cidr", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params: map[string]string{"VpcId": "{{vpc}}", "CidrBlock": "10.0.200.0/24", "Ipv6CidrBlock": "2600:1f18:1234:5601::/64"}, Status: 400},
		// A block outside /16–/28 is InvalidVpc.Range for a VPC and InvalidSubnet.Range for
		// a subnet (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
		{Name: "CreateVpc.error-range", Service: "ec2", Account: provider, Action: "CreateVpc",
			Params: map[string]string{"CidrBlock": "10.1.0.0/29"}, Status: 400},
		{Name: "CreateSubnet.error-range", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params: map[string]string{"VpcId": "{{vpc}}", "CidrBlock": "10.0.201.0/29"}, Status: 400},
		// 169.254.0.0/16 is Strait's transit range between VPCs (docs/actions.md): a
		// block overlapping it gets AWS's answer for a block it cannot use.
		{Name: "CreateVpc.error-transit", Service: "ec2", Account: provider, Action: "CreateVpc",
			Params: map[string]string{"CidrBlock": "169.254.0.0/16"}, Status: 400},
		{Name: "CreateSubnet.error-transit", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params: map[string]string{"VpcId": "{{vpc}}", "CidrBlock": "169.254.7.0/24"}, Status: 400},
		// enableNetworkAddressUsageMetrics is one of ModifyVpcAttribute's attributes
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcAttribute.html).
		{Name: "ModifyVpcAttribute.nau-metrics", Service: "ec2", Account: provider, Action: "ModifyVpcAttribute",
			Params: map[string]string{"VpcId": "{{vpc}}", "EnableNetworkAddressUsageMetrics.Value": "true"}},
		{Name: "DescribeVpcAttribute.nau-metrics", Service: "ec2", Account: provider, Action: "DescribeVpcAttribute",
			Params: map[string]string{"VpcId": "{{vpc}}", "Attribute": "enableNetworkAddressUsageMetrics"}},
		{Name: "ModifyVpcAttribute.error-two", Service: "ec2", Account: provider, Action: "ModifyVpcAttribute",
			Params: map[string]string{"VpcId": "{{vpc}}", "EnableNetworkAddressUsageMetrics.Value": "false", "EnableDnsSupport.Value": "true"}, Status: 400},
		// DescribeVpcEndpoints and DescribeVpcEndpointServices take any MaxResults; above
		// 1,000 they return 1,000 items, as the endpoint-service calls also do
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpoints.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html,
		// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServiceConfigurations.html).
		{Name: "DescribeVpcEndpointServices.max-results-1", Service: "ec2", Account: provider, Action: "DescribeVpcEndpointServices",
			Params: map[string]string{"MaxResults": "1"}},
		{Name: "DescribeVpcEndpoints.max-results-1", Service: "ec2", Account: consumer, Action: "DescribeVpcEndpoints",
			Params: map[string]string{"MaxResults": "1"}},
		{Name: "DescribeVpcEndpointServiceConfigurations.max-results-2000", Service: "ec2", Account: provider, Action: "DescribeVpcEndpointServiceConfigurations",
			Params: map[string]string{"MaxResults": "2000"}},
		{Name: "DescribeVpcEndpointServiceConfigurations.error-max-results-1", Service: "ec2", Account: provider, Action: "DescribeVpcEndpointServiceConfigurations",
			Params: map[string]string{"MaxResults": "1"}, Status: 400},
		{Name: "ModifyVpcAttribute.nau-metrics-off", Service: "ec2", Account: provider, Action: "ModifyVpcAttribute",
			Params: map[string]string{"VpcId": "{{vpc}}", "EnableNetworkAddressUsageMetrics.Value": "false"}},
	}
}

// goldenListenerAttributes: a TCP listener has one attribute,
// tcp.idle_timeout.seconds, 60–6000 s, default 350 s
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ListenerAttribute.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html).
func goldenListenerAttributes() []goldenStep {
	return []goldenStep{
		elbStep("DescribeListenerAttributes", "DescribeListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}"}),
		elbStep("ModifyListenerAttributes", "ModifyListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}",
			"Attributes.member.1.Key": "tcp.idle_timeout.seconds", "Attributes.member.1.Value": "6000"}),
		elbStep("DescribeListenerAttributes.modified", "DescribeListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}"}),
		elbStepErr("ModifyListenerAttributes.error-range", "ModifyListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}",
			"Attributes.member.1.Key": "tcp.idle_timeout.seconds", "Attributes.member.1.Value": "59"}),
		elbStepErr("ModifyListenerAttributes.error-key", "ModifyListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}",
			"Attributes.member.1.Key": "routing.http.response.server.enabled", "Attributes.member.1.Value": "false"}),
		elbAsConsumer(elbStepErr("DescribeListenerAttributes.error-other-account", "DescribeListenerAttributes", map[string]string{"ListenerArn": "{{listener_arn}}"})),
		// Beyond CreateTargetGroup's documented rules, AWS refuses "--" in a target group
		// name by its pattern (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html).
		// ELBv2 words validation errors as its validation layer does, not as EC2
		// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/CommonErrors.html).
		elbStepErr("CreateListener.error-protocol-enum", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "SCTP", "Port": "3306",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{tg_arn}}"}),
		elbStepErr("CreateListener.error-action-enum", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "TCP", "Port": "3306",
			"DefaultActions.member.1.Type": "drop", "DefaultActions.member.1.TargetGroupArn": "{{tg_arn}}"}),
		elbStepErr("CreateListener.error-port-range", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "TCP", "Port": "70000",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{tg_arn}}"}),
		elbStepErr("CreateTargetGroup.error-double-hyphen", "CreateTargetGroup", map[string]string{"Name": "pl--tg", "Protocol": "TCP", "Port": "3306", "VpcId": "{{vpc}}"}),
	}
}

// goldenLoadBalancerUpdates: SetSubnets adds and removes zones, SetSecurityGroups replaces the groups of
// a load balancer created with some, SetIpAddressType keeps ipv4, and
// DescribeAccountLimits lists the quotas Strait enforces
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetSecurityGroups.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetIpAddressType.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeAccountLimits.html).
func goldenLoadBalancerUpdates() []goldenStep {
	return []goldenStep{
		{Name: "CreateSecurityGroup.set-nlb", Service: "ec2", Account: provider, Action: "CreateSecurityGroup",
			Params: map[string]string{"VpcId": "{{vpc}}", "GroupName": "set-nlb", "GroupDescription": "replaces db_sg"}, Capture: map[string]string{"set_sg": "groupId"}},
		elbCapture(elbStep("CreateLoadBalancer.set-nlb", "CreateLoadBalancer", map[string]string{"Name": "set-nlb", "Scheme": "internal", "Type": "network",
			"Subnets.member.1": "{{subnet_a}}", "SecurityGroups.member.1": "{{db_sg}}"}), "set_nlb", "LoadBalancerArn"),
		elbCapture(elbStep("CreateLoadBalancer.bare-nlb", "CreateLoadBalancer", map[string]string{"Name": "bare-nlb", "Scheme": "internal", "Type": "network",
			"Subnets.member.1": "{{subnet_c}}"}), "bare_nlb", "LoadBalancerArn"),
		elbStep("SetSubnets", "SetSubnets", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "Subnets.member.1": "{{subnet_a}}", "Subnets.member.2": "{{subnet_b}}"}),
		elbStep("SetSubnets.remove", "SetSubnets", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "Subnets.member.1": "{{subnet_b}}"}),
		elbStepErr("SetSubnets.error-other-vpc", "SetSubnets", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "Subnets.member.1": "{{scratch_subnet}}"}),
		elbStep("SetSecurityGroups", "SetSecurityGroups", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "SecurityGroups.member.1": "{{set_sg}}",
			"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic": "off"}),
		elbStepErr("SetSecurityGroups.error-created-without", "SetSecurityGroups", map[string]string{"LoadBalancerArn": "{{bare_nlb}}", "SecurityGroups.member.1": "{{set_sg}}"}),
		elbStepErr("SetSecurityGroups.error-other-account", "SetSecurityGroups", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "SecurityGroups.member.1": "{{csg}}"}),
		elbStep("DescribeLoadBalancers.set-nlb", "DescribeLoadBalancers", map[string]string{"LoadBalancerArns.member.1": "{{set_nlb}}"}),
		elbStep("SetIpAddressType", "SetIpAddressType", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "IpAddressType": "ipv4"}),
		elbStepErr("SetIpAddressType.error-dualstack", "SetIpAddressType", map[string]string{"LoadBalancerArn": "{{set_nlb}}", "IpAddressType": "dualstack"}),
		elbStep("DescribeAccountLimits", "DescribeAccountLimits", map[string]string{}),
		elbStep("DeleteLoadBalancer.set-nlb", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{set_nlb}}"}),
		elbStep("DeleteLoadBalancer.bare-nlb", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{bare_nlb}}"}),
		{Name: "DeleteSecurityGroup.set-nlb", Service: "ec2", Account: provider, Action: "DeleteSecurityGroup", Params: map[string]string{"GroupId": "{{set_sg}}"}},
	}
}

// goldenRuleUpdates: ModifySecurityGroupRules replaces a rule in place (same ID),
// UpdateSecurityGroupRuleDescriptionsIngress/Egress change descriptions of rules
// named by definition or ID, and ModifySubnetAttribute takes one attribute, at the
// value Strait's subnets have
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySecurityGroupRules.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UpdateSecurityGroupRuleDescriptionsIngress.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UpdateSecurityGroupRuleDescriptionsEgress.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySubnetAttribute.html).
func goldenRuleUpdates() []goldenStep {
	ec2 := func(name, action string, params map[string]string) goldenStep {
		return goldenStep{Name: name, Service: "ec2", Account: provider, Action: action, Params: params}
	}
	fail := func(s goldenStep) goldenStep { s.Status = 400; return s }
	capture := func(s goldenStep, name, elem string) goldenStep { s.Capture = map[string]string{name: elem}; return s }
	return []goldenStep{
		capture(ec2("CreateSecurityGroup.rules", "CreateSecurityGroup", map[string]string{"VpcId": "{{vpc}}", "GroupName": "rules", "GroupDescription": "rule updates"}), "rules_sg", "groupId"),
		capture(ec2("AuthorizeSecurityGroupIngress.rules", "AuthorizeSecurityGroupIngress", map[string]string{"GroupId": "{{rules_sg}}",
			"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "80", "IpPermissions.1.ToPort": "80", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/16"}), "rules_in", "securityGroupRuleId"),
		capture(ec2("AuthorizeSecurityGroupEgress.rules", "AuthorizeSecurityGroupEgress", map[string]string{"GroupId": "{{rules_sg}}",
			"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "5432", "IpPermissions.1.ToPort": "5432", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.6.0/24"}), "rules_out", "securityGroupRuleId"),
		ec2("ModifySecurityGroupRules", "ModifySecurityGroupRules", map[string]string{"GroupId": "{{rules_sg}}", "SecurityGroupRule.1.SecurityGroupRuleId": "{{rules_in}}",
			"SecurityGroupRule.1.SecurityGroupRule.IpProtocol": "tcp", "SecurityGroupRule.1.SecurityGroupRule.FromPort": "443", "SecurityGroupRule.1.SecurityGroupRule.ToPort": "443",
			"SecurityGroupRule.1.SecurityGroupRule.CidrIpv4": "10.0.5.0/24", "SecurityGroupRule.1.SecurityGroupRule.Description": "https"}),
		fail(ec2("ModifySecurityGroupRules.error-not-found", "ModifySecurityGroupRules", map[string]string{"GroupId": "{{rules_sg}}", "SecurityGroupRule.1.SecurityGroupRuleId": "sgr-0123456789abcdef0",
			"SecurityGroupRule.1.SecurityGroupRule.IpProtocol": "-1", "SecurityGroupRule.1.SecurityGroupRule.CidrIpv4": "10.0.5.0/24"})),
		fail(ec2("ModifySecurityGroupRules.error-duplicate", "ModifySecurityGroupRules", map[string]string{"GroupId": "{{rules_sg}}", "SecurityGroupRule.1.SecurityGroupRuleId": "{{rules_out}}",
			"SecurityGroupRule.1.SecurityGroupRule.IpProtocol": "-1", "SecurityGroupRule.1.SecurityGroupRule.CidrIpv4": "0.0.0.0/0"})),
		ec2("UpdateSecurityGroupRuleDescriptionsIngress", "UpdateSecurityGroupRuleDescriptionsIngress", map[string]string{"GroupId": "{{rules_sg}}",
			"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "443", "IpPermissions.1.ToPort": "443",
			"IpPermissions.1.IpRanges.1.CidrIp": "10.0.5.0/24", "IpPermissions.1.IpRanges.1.Description": "web clients"}),
		ec2("UpdateSecurityGroupRuleDescriptionsEgress", "UpdateSecurityGroupRuleDescriptionsEgress", map[string]string{"GroupId": "{{rules_sg}}",
			"SecurityGroupRuleDescription.1.SecurityGroupRuleId": "{{rules_out}}", "SecurityGroupRuleDescription.1.Description": "database"}),
		fail(ec2("UpdateSecurityGroupRuleDescriptionsIngress.error-not-found", "UpdateSecurityGroupRuleDescriptionsIngress", map[string]string{"GroupId": "{{rules_sg}}",
			"IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8"})),
		ec2("DescribeSecurityGroupRules.modified-in", "DescribeSecurityGroupRules", map[string]string{"SecurityGroupRuleId.1": "{{rules_in}}"}),
		ec2("DescribeSecurityGroupRules.modified-out", "DescribeSecurityGroupRules", map[string]string{"SecurityGroupRuleId.1": "{{rules_out}}"}),
		ec2("DeleteSecurityGroup.rules", "DeleteSecurityGroup", map[string]string{"GroupId": "{{rules_sg}}"}),

		ec2("ModifySubnetAttribute", "ModifySubnetAttribute", map[string]string{"SubnetId": "{{subnet_a}}", "MapPublicIpOnLaunch.Value": "false"}),
		fail(ec2("ModifySubnetAttribute.error-public", "ModifySubnetAttribute", map[string]string{"SubnetId": "{{subnet_a}}", "MapPublicIpOnLaunch.Value": "true"})),
		fail(ec2("ModifySubnetAttribute.error-two", "ModifySubnetAttribute", map[string]string{"SubnetId": "{{subnet_a}}", "MapPublicIpOnLaunch.Value": "false",
			"PrivateDnsHostnameTypeOnLaunch": "ip-name"})),
	}
}

// goldenNetworkInterfaces: an interface created in a subnet holds an address of it
// and is "available" (attached to nothing); its attributes are described one at a
// time and its description and groups modified; attached and requester-managed
// interfaces are neither modified nor deleted here
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkInterface.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaceAttribute.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteNetworkInterface.html).
func goldenNetworkInterfaces() []goldenStep {
	ec2 := func(name, action string, params map[string]string) goldenStep {
		return goldenStep{Name: name, Service: "ec2", Account: provider, Action: action, Params: params}
	}
	fail := func(s goldenStep) goldenStep { s.Status = 400; return s }
	capture := func(s goldenStep, name, elem string) goldenStep { s.Capture = map[string]string{name: elem}; return s }
	attr := func(name string) goldenStep {
		return ec2("DescribeNetworkInterfaceAttribute."+name, "DescribeNetworkInterfaceAttribute", map[string]string{"NetworkInterfaceId": "{{spare_eni}}", "Attribute": name})
	}
	return []goldenStep{
		capture(ec2("CreateNetworkInterface", "CreateNetworkInterface", map[string]string{"SubnetId": "{{subnet_b}}", "Description": "spare",
			"SecurityGroupId.1": "{{db_sg}}", "PrivateIpAddress": "10.0.2.200", "TagSpecification.1.ResourceType": "network-interface",
			"TagSpecification.1.Tag.1.Key": "role", "TagSpecification.1.Tag.1.Value": "standby"}), "spare_eni", "networkInterfaceId"),
		fail(ec2("CreateNetworkInterface.error-ipv6", "CreateNetworkInterface", map[string]string{"SubnetId": "{{subnet_b}}", "Ipv6AddressCount": "1"})),
		fail(ec2("CreateNetworkInterface.error-address-in-use", "CreateNetworkInterface", map[string]string{"SubnetId": "{{subnet_b}}", "PrivateIpAddress": "10.0.2.200"})),
		attr("description"), attr("groupSet"), attr("sourceDestCheck"), attr("attachment"),
		ec2("ModifyNetworkInterfaceAttribute", "ModifyNetworkInterfaceAttribute", map[string]string{"NetworkInterfaceId": "{{spare_eni}}", "Description.Value": "standby"}),
		ec2("ModifyNetworkInterfaceAttribute.groups", "ModifyNetworkInterfaceAttribute", map[string]string{"NetworkInterfaceId": "{{spare_eni}}", "SecurityGroupId.1": "{{default_sg}}"}),
		fail(ec2("ModifyNetworkInterfaceAttribute.error-source-dest", "ModifyNetworkInterfaceAttribute", map[string]string{"NetworkInterfaceId": "{{spare_eni}}", "SourceDestCheck.Value": "false"})),
		ec2("DescribeNetworkInterfaces.spare", "DescribeNetworkInterfaces", map[string]string{"NetworkInterfaceId.1": "{{spare_eni}}"}),
		capture(ec2("DescribeNetworkInterfaces.nlb-node", "DescribeNetworkInterfaces", map[string]string{"Filter.1.Name": "description", "Filter.1.Value.1": "ELB net/pl-nlb/*",
			"Filter.2.Name": "availability-zone", "Filter.2.Value.1": "us-east-1a"}), "nlb_eni", "networkInterfaceId"),
		fail(ec2("ModifyNetworkInterfaceAttribute.error-requester-managed", "ModifyNetworkInterfaceAttribute", map[string]string{"NetworkInterfaceId": "{{nlb_eni}}", "Description.Value": "mine"})),
		fail(ec2("DeleteNetworkInterface.error-in-use", "DeleteNetworkInterface", map[string]string{"NetworkInterfaceId": "{{nlb_eni}}"})),
		ec2("DeleteNetworkInterface", "DeleteNetworkInterface", map[string]string{"NetworkInterfaceId": "{{spare_eni}}"}),
		fail(ec2("DeleteNetworkInterface.error-gone", "DeleteNetworkInterface", map[string]string{"NetworkInterfaceId": "{{spare_eni}}"})),
	}
}
