package awsapi_test

// goldenELB covers every ELBv2 action: the network load balancer of guide 004
// (pl-nlb in subnets a, b and c with the security group db_sg, the IP target group
// pl-nlb-target-group on TCP:3306 with target 10.0.1.10, and a TCP:3306 listener), a
// scratch load balancer, target group and listener that it deletes again, and the
// main errors. It leaves nlb_arn, tg_arn and listener_arn for later scenarios.
func goldenELB() []goldenStep {
	var steps []goldenStep
	for _, part := range [][]goldenStep{goldenELBLoadBalancers(), goldenELBTargetGroups(), goldenELBListeners(), goldenELBDescribe(), goldenELBTags(), goldenELBCleanup()} {
		steps = append(steps, part...)
	}
	return steps
}

// elbStep is a shorthand for a provider ELBv2 step.
func elbStep(name, action string, params map[string]string) goldenStep {
	return goldenStep{Name: name, Service: "elasticloadbalancing", Account: provider, Action: action, Params: params}
}

// elbStepErr is a provider ELBv2 step that fails with HTTP 400.
func elbStepErr(name, action string, params map[string]string) goldenStep {
	s := elbStep(name, action, params)
	s.Status = 400
	return s
}

func elbCapture(s goldenStep, name, elem string) goldenStep {
	s.Capture = map[string]string{name: elem}
	return s
}

func elbAsConsumer(s goldenStep) goldenStep {
	s.Account = consumer
	return s
}

func goldenELBLoadBalancers() []goldenStep {
	nlb := map[string]string{"Name": "pl-nlb", "Scheme": "internal", "Type": "network",
		"Subnets.member.1": "{{subnet_a}}", "Subnets.member.2": "{{subnet_b}}", "Subnets.member.3": "{{subnet_c}}",
		"SecurityGroups.member.1": "{{db_sg}}", "Tags.member.1.Key": "Name", "Tags.member.1.Value": "pl-nlb"}
	return []goldenStep{
		{Name: "CreateSubnet.elb-a2", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params:  map[string]string{"VpcId": "{{vpc}}", "CidrBlock": "10.0.4.0/24", "AvailabilityZone": "us-east-1a"},
			Capture: map[string]string{"elb_subnet_a2": "subnetId"}},
		{Name: "CreateVpc.elb-other", Service: "ec2", Account: provider, Action: "CreateVpc",
			Params: map[string]string{"CidrBlock": "10.9.0.0/16"}, Capture: map[string]string{"elb_other_vpc": "vpcId"}},
		{Name: "CreateSubnet.elb-other", Service: "ec2", Account: provider, Action: "CreateSubnet",
			Params:  map[string]string{"VpcId": "{{elb_other_vpc}}", "CidrBlock": "10.9.2.0/24", "AvailabilityZone": "us-east-1b"},
			Capture: map[string]string{"elb_other_subnet": "subnetId"}},
		elbCapture(elbStep("CreateLoadBalancer", "CreateLoadBalancer", nlb), "nlb_arn", "LoadBalancerArn"),
		elbStepErr("CreateLoadBalancer.error-duplicate-name", "CreateLoadBalancer", map[string]string{"Name": "pl-nlb", "Scheme": "internal", "Type": "network",
			"Subnets.member.1": "{{subnet_a}}"}),
		elbStepErr("CreateLoadBalancer.error-same-az", "CreateLoadBalancer", map[string]string{"Name": "two-in-a", "Scheme": "internal", "Type": "network",
			"Subnets.member.1": "{{subnet_a}}", "Subnets.member.2": "{{elb_subnet_a2}}"}),
		elbStepErr("CreateLoadBalancer.error-two-vpcs", "CreateLoadBalancer", map[string]string{"Name": "two-vpcs", "Scheme": "internal", "Type": "network",
			"Subnets.member.1": "{{subnet_a}}", "Subnets.member.2": "{{elb_other_subnet}}"}),
		elbStepErr("CreateLoadBalancer.error-application", "CreateLoadBalancer", map[string]string{"Name": "web", "Subnets.member.1": "{{subnet_a}}"}),
		elbStepErr("CreateLoadBalancer.error-name", "CreateLoadBalancer", map[string]string{"Name": "internal-db", "Type": "network", "Subnets.member.1": "{{subnet_a}}"}),
		elbStepErr("CreateLoadBalancer.error-no-subnets", "CreateLoadBalancer", map[string]string{"Name": "nowhere", "Type": "network"}),
		elbStepErr("CreateLoadBalancer.error-subnet-not-found", "CreateLoadBalancer", map[string]string{"Name": "theirs", "Type": "network", "Subnets.member.1": "{{csubnet_a}}"}),
		elbStepErr("CreateLoadBalancer.error-security-group", "CreateLoadBalancer", map[string]string{"Name": "bad-sg", "Type": "network",
			"Subnets.member.1": "{{subnet_a}}", "SecurityGroups.member.1": "{{csg}}"}),
		elbCapture(elbStep("CreateLoadBalancer.mapping", "CreateLoadBalancer", map[string]string{"Name": "scratch-nlb", "Scheme": "internal", "Type": "network",
			"SubnetMappings.member.1.SubnetId": "{{subnet_b}}", "SubnetMappings.member.1.PrivateIPv4Address": "10.0.2.100"}), "scratch_nlb", "LoadBalancerArn"),
	}
}

// goldenELBDescribe runs after the target group and listener steps, so that the
// reconciler has long moved both load balancers from provisioning to active.
func goldenELBDescribe() []goldenStep {
	nlb := map[string]string{"Name": "pl-nlb", "Scheme": "internal", "Type": "network",
		"Subnets.member.1": "{{subnet_a}}", "Subnets.member.2": "{{subnet_b}}", "Subnets.member.3": "{{subnet_c}}",
		"SecurityGroups.member.1": "{{db_sg}}", "Tags.member.1.Key": "Name", "Tags.member.1.Value": "pl-nlb"}
	return []goldenStep{
		elbStep("CreateLoadBalancer.idempotent", "CreateLoadBalancer", nlb),
		elbStep("DescribeLoadBalancers", "DescribeLoadBalancers", map[string]string{"Names.member.1": "pl-nlb"}),
		elbCapture(elbStep("DescribeLoadBalancers.page-1", "DescribeLoadBalancers", map[string]string{"PageSize": "1"}), "lb_marker", "NextMarker"),
		elbStep("DescribeLoadBalancers.page-2", "DescribeLoadBalancers", map[string]string{"PageSize": "1", "Marker": "{{lb_marker}}"}),
		elbStep("DescribeLoadBalancers.by-arn", "DescribeLoadBalancers", map[string]string{"LoadBalancerArns.member.1": "{{scratch_nlb}}"}),
		elbStepErr("DescribeLoadBalancers.error-page-size", "DescribeLoadBalancers", map[string]string{"PageSize": "401"}),
		elbStepErr("DescribeLoadBalancers.error-name-not-found", "DescribeLoadBalancers", map[string]string{"Names.member.1": "nope"}),
		elbAsConsumer(elbStepErr("DescribeLoadBalancers.error-other-account", "DescribeLoadBalancers", map[string]string{"LoadBalancerArns.member.1": "{{nlb_arn}}"})),
		elbStepErr("DescribeLoadBalancers.error-malformed-arn", "DescribeLoadBalancers", map[string]string{"LoadBalancerArns.member.1": "arn:aws:ec2:us-east-1:111111111111:vpc/vpc-1"}),
		elbStep("DescribeLoadBalancerAttributes", "DescribeLoadBalancerAttributes", map[string]string{"LoadBalancerArn": "{{nlb_arn}}"}),
		elbStep("ModifyLoadBalancerAttributes", "ModifyLoadBalancerAttributes", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}",
			"Attributes.member.1.Key": "deletion_protection.enabled", "Attributes.member.1.Value": "true",
			"Attributes.member.2.Key": "load_balancing.cross_zone.enabled", "Attributes.member.2.Value": "true"}),
		elbStepErr("DeleteLoadBalancer.error-protected", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}"}),
		elbStep("ModifyLoadBalancerAttributes.unprotect", "ModifyLoadBalancerAttributes", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}",
			"Attributes.member.1.Key": "deletion_protection.enabled", "Attributes.member.1.Value": "false"}),
		elbStepErr("ModifyLoadBalancerAttributes.error-key", "ModifyLoadBalancerAttributes", map[string]string{"LoadBalancerArn": "{{nlb_arn}}",
			"Attributes.member.1.Key": "idle_timeout.timeout_seconds", "Attributes.member.1.Value": "60"}),
		elbStepErr("ModifyLoadBalancerAttributes.error-value", "ModifyLoadBalancerAttributes", map[string]string{"LoadBalancerArn": "{{nlb_arn}}",
			"Attributes.member.1.Key": "deletion_protection.enabled", "Attributes.member.1.Value": "yes"}),
	}
}

func goldenELBTargetGroups() []goldenStep {
	tg := map[string]string{"Name": "pl-nlb-target-group", "Protocol": "TCP", "Port": "3306", "VpcId": "{{vpc}}", "TargetType": "ip"}
	return []goldenStep{
		elbCapture(elbStep("CreateTargetGroup", "CreateTargetGroup", tg), "tg_arn", "TargetGroupArn"),
		elbStep("CreateTargetGroup.idempotent", "CreateTargetGroup", tg),
		elbStepErr("CreateTargetGroup.error-duplicate-name", "CreateTargetGroup", map[string]string{"Name": "pl-nlb-target-group", "Protocol": "TCP", "Port": "3307", "VpcId": "{{vpc}}", "TargetType": "ip"}),
		elbStepErr("CreateTargetGroup.error-protocol", "CreateTargetGroup", map[string]string{"Name": "web", "Protocol": "HTTP", "Port": "80", "VpcId": "{{vpc}}"}),
		elbStepErr("CreateTargetGroup.error-target-type", "CreateTargetGroup", map[string]string{"Name": "fn", "TargetType": "lambda"}),
		elbStepErr("CreateTargetGroup.error-interval", "CreateTargetGroup", map[string]string{"Name": "fast", "Protocol": "TCP", "Port": "80", "VpcId": "{{vpc}}", "HealthCheckIntervalSeconds": "3"}),
		elbAsConsumer(elbStepErr("CreateTargetGroup.error-vpc", "CreateTargetGroup", map[string]string{"Name": "theirs", "Protocol": "TCP", "Port": "80", "VpcId": "{{vpc}}"})),
		elbCapture(elbStep("CreateTargetGroup.instance-http-check", "CreateTargetGroup", map[string]string{"Name": "scratch-tg", "Protocol": "TCP", "Port": "80", "VpcId": "{{vpc}}",
			"HealthCheckProtocol": "HTTP", "HealthCheckPath": "/healthz", "HealthCheckPort": "8080", "Matcher.HttpCode": "200-299",
			"Tags.member.1.Key": "team", "Tags.member.1.Value": "db"}), "scratch_tg", "TargetGroupArn"),
		elbStep("DescribeTargetGroups", "DescribeTargetGroups", map[string]string{"Names.member.1": "pl-nlb-target-group"}),
		elbStep("DescribeTargetGroups.by-arn", "DescribeTargetGroups", map[string]string{"TargetGroupArns.member.1": "{{scratch_tg}}"}),
		elbAsConsumer(elbStepErr("DescribeTargetGroups.error-other-account", "DescribeTargetGroups", map[string]string{"TargetGroupArns.member.1": "{{tg_arn}}"})),
		elbStep("ModifyTargetGroup", "ModifyTargetGroup", map[string]string{"TargetGroupArn": "{{tg_arn}}", "HealthCheckIntervalSeconds": "10", "HealthyThresholdCount": "3"}),
		elbStepErr("ModifyTargetGroup.error-timeout", "ModifyTargetGroup", map[string]string{"TargetGroupArn": "{{tg_arn}}", "HealthCheckTimeoutSeconds": "20"}),
		elbStepErr("ModifyTargetGroup.error-path-for-tcp", "ModifyTargetGroup", map[string]string{"TargetGroupArn": "{{tg_arn}}", "HealthCheckPath": "/"}),
		elbStep("DescribeTargetGroupAttributes", "DescribeTargetGroupAttributes", map[string]string{"TargetGroupArn": "{{tg_arn}}"}),
		elbStep("ModifyTargetGroupAttributes", "ModifyTargetGroupAttributes", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Attributes.member.1.Key": "proxy_protocol_v2.enabled", "Attributes.member.1.Value": "true",
			"Attributes.member.2.Key": "deregistration_delay.timeout_seconds", "Attributes.member.2.Value": "30"}),
		elbStepErr("ModifyTargetGroupAttributes.error-value", "ModifyTargetGroupAttributes", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Attributes.member.1.Key": "deregistration_delay.timeout_seconds", "Attributes.member.1.Value": "4000"}),
		elbStepErr("ModifyTargetGroupAttributes.error-key", "ModifyTargetGroupAttributes", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Attributes.member.1.Key": "slow_start.duration_seconds", "Attributes.member.1.Value": "30"}),
		// Strait's own strait.relay.enabled (docs/actions.md) is a boolean like
		// AWS's: another value is the same ValidationError.
		elbStepErr("ModifyTargetGroupAttributes.error-relay", "ModifyTargetGroupAttributes", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Attributes.member.1.Key": "strait.relay.enabled", "Attributes.member.1.Value": "yes"}),
		elbStep("RegisterTargets", "RegisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}", "Targets.member.1.Id": "10.0.1.10"}),
		elbStep("RegisterTargets.outside-vpc", "RegisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Targets.member.1.Id": "172.16.0.5", "Targets.member.1.Port": "3307", "Targets.member.1.AvailabilityZone": "all"}),
		elbStepErr("RegisterTargets.error-outside-vpc", "RegisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}", "Targets.member.1.Id": "192.168.5.5"}),
		elbStepErr("RegisterTargets.error-not-ip", "RegisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}", "Targets.member.1.Id": "db.example.com"}),
		elbStepErr("RegisterTargets.error-instance", "RegisterTargets", map[string]string{"TargetGroupArn": "{{scratch_tg}}", "Targets.member.1.Id": "i-0123456789abcdef0"}),
		elbStep("DescribeTargetHealth.unused", "DescribeTargetHealth", map[string]string{"TargetGroupArn": "{{tg_arn}}"}),
		elbStep("DeregisterTargets", "DeregisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}",
			"Targets.member.1.Id": "172.16.0.5", "Targets.member.1.Port": "3307"}),
		elbStepErr("DeregisterTargets.error-not-registered", "DeregisterTargets", map[string]string{"TargetGroupArn": "{{tg_arn}}", "Targets.member.1.Id": "10.0.1.11"}),
	}
}

func goldenELBListeners() []goldenStep {
	return []goldenStep{
		elbCapture(elbStep("CreateListener", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "TCP", "Port": "3306",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{tg_arn}}"}), "listener_arn", "ListenerArn"),
		elbStepErr("CreateListener.error-duplicate", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "TCP", "Port": "3306",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{scratch_tg}}"}),
		elbStepErr("CreateListener.error-tls", "CreateListener", map[string]string{"LoadBalancerArn": "{{nlb_arn}}", "Protocol": "TLS", "Port": "443",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{scratch_tg}}"}),
		elbStepErr("CreateListener.error-association", "CreateListener", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}", "Protocol": "TCP", "Port": "3306",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{tg_arn}}"}),
		elbStepErr("CreateListener.error-redirect", "CreateListener", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}", "Protocol": "TCP", "Port": "80",
			"DefaultActions.member.1.Type": "redirect", "DefaultActions.member.1.RedirectConfig.StatusCode": "HTTP_301"}),
		elbCapture(elbStep("CreateListener.forward-config", "CreateListener", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}", "Protocol": "TCP", "Port": "80",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": "{{scratch_tg}}"}), "scratch_listener", "ListenerArn"),
		elbStep("DescribeTargetHealth", "DescribeTargetHealth", map[string]string{"TargetGroupArn": "{{tg_arn}}"}),
		elbStep("DescribeTargetHealth.not-registered", "DescribeTargetHealth", map[string]string{"TargetGroupArn": "{{tg_arn}}", "Targets.member.1.Id": "10.0.1.99"}),
		elbAsConsumer(elbStepErr("DescribeTargetHealth.error-other-account", "DescribeTargetHealth", map[string]string{"TargetGroupArn": "{{tg_arn}}"})),
		elbStep("DescribeListeners", "DescribeListeners", map[string]string{"LoadBalancerArn": "{{nlb_arn}}"}),
		elbStep("DescribeListeners.by-arn", "DescribeListeners", map[string]string{"ListenerArns.member.1": "{{scratch_listener}}"}),
		elbStepErr("DescribeListeners.error-nothing", "DescribeListeners", map[string]string{}),
		elbStep("DescribeTargetGroups.by-load-balancer", "DescribeTargetGroups", map[string]string{"LoadBalancerArn": "{{nlb_arn}}"}),
		elbStep("ModifyListener", "ModifyListener", map[string]string{"ListenerArn": "{{scratch_listener}}", "Port": "8080"}),
		elbStepErr("ModifyListener.error-association", "ModifyListener", map[string]string{"ListenerArn": "{{listener_arn}}", "Port": "3306",
			"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "{{scratch_tg}}"}),
		elbStepErr("DeleteTargetGroup.error-in-use", "DeleteTargetGroup", map[string]string{"TargetGroupArn": "{{tg_arn}}"}),
		elbAsConsumer(elbStepErr("DeleteListener.error-other-account", "DeleteListener", map[string]string{"ListenerArn": "{{listener_arn}}"})),
	}
}

func goldenELBTags() []goldenStep {
	return []goldenStep{
		elbStep("ELB.AddTags", "AddTags", map[string]string{"ResourceArns.member.1": "{{nlb_arn}}", "ResourceArns.member.2": "{{tg_arn}}", "ResourceArns.member.3": "{{listener_arn}}",
			"Tags.member.1.Key": "env", "Tags.member.1.Value": "golden", "Tags.member.2.Key": "owner", "Tags.member.2.Value": "db-team"}),
		elbStepErr("ELB.AddTags.error-duplicate-keys", "AddTags", map[string]string{"ResourceArns.member.1": "{{nlb_arn}}",
			"Tags.member.1.Key": "env", "Tags.member.1.Value": "a", "Tags.member.2.Key": "env", "Tags.member.2.Value": "b"}),
		elbStep("ELB.RemoveTags", "RemoveTags", map[string]string{"ResourceArns.member.1": "{{tg_arn}}", "TagKeys.member.1": "owner"}),
		elbStep("ELB.DescribeTags", "DescribeTags", map[string]string{"ResourceArns.member.1": "{{nlb_arn}}", "ResourceArns.member.2": "{{tg_arn}}", "ResourceArns.member.3": "{{listener_arn}}"}),
		elbAsConsumer(elbStepErr("ELB.DescribeTags.error-other-account", "DescribeTags", map[string]string{"ResourceArns.member.1": "{{nlb_arn}}"})),
	}
}

func goldenELBCleanup() []goldenStep {
	return []goldenStep{
		elbStep("DeleteListener", "DeleteListener", map[string]string{"ListenerArn": "{{scratch_listener}}"}),
		elbStepErr("DeleteListener.error-gone", "DeleteListener", map[string]string{"ListenerArn": "{{scratch_listener}}"}),
		elbStep("DeleteTargetGroup", "DeleteTargetGroup", map[string]string{"TargetGroupArn": "{{scratch_tg}}"}),
		elbAsConsumer(elbStepErr("DeleteLoadBalancer.error-other-account", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{nlb_arn}}"})),
		elbStep("DeleteLoadBalancer", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}"}),
		elbStep("DeleteLoadBalancer.again", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{scratch_nlb}}"}),
		elbStep("DescribeLoadBalancers.after-delete", "DescribeLoadBalancers", map[string]string{}),
		{Name: "DeleteSubnet.elb-a2", Service: "ec2", Account: provider, Action: "DeleteSubnet", Params: map[string]string{"SubnetId": "{{elb_subnet_a2}}"}},
		{Name: "DeleteSubnet.elb-other", Service: "ec2", Account: provider, Action: "DeleteSubnet", Params: map[string]string{"SubnetId": "{{elb_other_subnet}}"}},
		{Name: "DeleteVpc.elb-other", Service: "ec2", Account: provider, Action: "DeleteVpc", Params: map[string]string{"VpcId": "{{elb_other_vpc}}"}},
	}
}
