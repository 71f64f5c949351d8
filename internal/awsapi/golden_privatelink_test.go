package awsapi_test

import (
	"testing"
	"time"

	"strait/internal/testenv"
)

// goldenPrivateLink covers the PrivateLink actions: the endpoint service of guide
// 004 in front of nlb_arn (acceptance required, private DNS name db.example.com),
// a second service without acceptance, permissions, the consumer's interface
// endpoints through acceptance, rejection and private DNS, connection
// notifications, deletions and the main errors.
func goldenPrivateLink() []goldenStep {
	var steps []goldenStep
	for _, part := range [][]goldenStep{goldenServices(), goldenPermissions(), goldenEndpoints(), goldenConnections(), goldenPrivateDNS(), goldenNotifications(), goldenPrivateLinkCleanup()} {
		steps = append(steps, part...)
	}
	return steps
}

func plStep(name, acct, action string, params map[string]string) goldenStep {
	return goldenStep{Name: name, Service: "ec2", Account: acct, Action: action, Params: params}
}

func plErr(name, acct, action string, params map[string]string) goldenStep {
	s := plStep(name, acct, action, params)
	s.Status = 400
	return s
}

func plCapture(s goldenStep, captures map[string]string) goldenStep {
	s.Capture = captures
	return s
}

func plBefore(s goldenStep, before func(t *testing.T, env *testenv.Env, captures map[string]string)) goldenStep {
	s.Before = before
	return s
}

// plAwaitService waits until the service captured as name is Available.
func plAwaitService(name string) func(*testing.T, *testenv.Env, map[string]string) {
	return func(t *testing.T, env *testenv.Env, captures map[string]string) {
		t.Helper()
		ctx := testenv.Ctx(t)
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
			s, err := env.Server.Control().EndpointService(ctx, provider, captures[name])
			if err != nil {
				t.Fatal(err)
			}
			if s.State == "Available" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("service %s stays %s", s.ID, s.State)
			}
		}
	}
}

// plAwaitEndpoint waits until the consumer's endpoint captured as name reaches
// state, or is gone when state is "".
func plAwaitEndpoint(name, state string) func(*testing.T, *testenv.Env, map[string]string) {
	return func(t *testing.T, env *testenv.Env, captures map[string]string) {
		t.Helper()
		ctx := testenv.Ctx(t)
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
			eps, err := env.Server.Control().Endpoints(ctx, consumer)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, ep := range eps {
				if ep.ID == captures[name] {
					got = ep.State
				}
			}
			if got == state {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("endpoint %s stays %q, want %q", captures[name], got, state)
			}
		}
	}
}

// plServeVerification starts a DNS server on a loopback port with the TXT record
// that verifies the private DNS name of the service captured as name, and points
// verification at it.
func plServeVerification(name string) func(*testing.T, *testenv.Env, map[string]string) {
	return func(t *testing.T, env *testenv.Env, captures map[string]string) {
		t.Helper()
		ctl := env.Server.Control()
		s, err := ctl.EndpointService(testenv.Ctx(t), provider, captures[name])
		if err != nil {
			t.Fatal(err)
		}
		srv := testenv.StartDNS(t)
		srv.SetTXT(s.DNSVerification.Name+"."+s.PrivateDNSName, s.DNSVerification.Value)
		ctl.SetResolver(srv.Addr)
	}
}

func goldenServices() []goldenStep {
	return []goldenStep{
		plCapture(plStep("CreateVpcEndpointServiceConfiguration", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb_arn}}", "AcceptanceRequired": "true", "PrivateDnsName": "db.example.com",
			"TagSpecification.1.ResourceType": "vpc-endpoint-service", "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "db"}),
			map[string]string{"svc": "serviceId", "svc_name": "serviceName"}),
		plErr("CreateVpcEndpointServiceConfiguration.error-in-use", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb_arn}}"}),
		plErr("CreateVpcEndpointServiceConfiguration.error-gateway", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"GatewayLoadBalancerArn.1": "{{nlb_arn}}"}),
		plErr("CreateVpcEndpointServiceConfiguration.error-other-account", consumer, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb_arn}}"}),
		plErr("CreateVpcEndpointServiceConfiguration.error-dns-name", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb_arn}}", "PrivateDnsName": "not a name"}),
		elbCapture(elbStep("CreateLoadBalancer.pl-2", "CreateLoadBalancer", map[string]string{
			"Name": "pl-nlb-2", "Scheme": "internal", "Type": "network", "Subnets.member.1": "{{subnet_a}}"}),
			"nlb2_arn", "LoadBalancerArn"),
		plCapture(plStep("CreateVpcEndpointServiceConfiguration.token", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb2_arn}}", "AcceptanceRequired": "false", "ClientToken": "pl-token-1"}),
			map[string]string{"svc2": "serviceId", "svc2_name": "serviceName"}),
		plBefore(plStep("CreateVpcEndpointServiceConfiguration.token-retry", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb2_arn}}", "AcceptanceRequired": "false", "ClientToken": "pl-token-1"}), plAwaitService("svc2")),
		plErr("CreateVpcEndpointServiceConfiguration.error-token-mismatch", provider, "CreateVpcEndpointServiceConfiguration", map[string]string{
			"NetworkLoadBalancerArn.1": "{{nlb2_arn}}", "AcceptanceRequired": "true", "ClientToken": "pl-token-1"}),
		plBefore(plStep("DescribeVpcEndpointServiceConfigurations", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "{{svc}}"}), plAwaitService("svc")),
		plBefore(plStep("DescribeVpcEndpointServiceConfigurations.by-filter", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"Filter.1.Name": "service-name", "Filter.1.Value.1": "{{svc2_name}}", "Filter.2.Name": "service-state", "Filter.2.Value.1": "Available"}), plAwaitService("svc2")),
		plStep("DescribeVpcEndpointServiceConfigurations.by-tag", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "db"}),
		plErr("DescribeVpcEndpointServiceConfigurations.error-other-account", consumer, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "{{svc}}"}),
		plErr("DescribeVpcEndpointServiceConfigurations.error-malformed", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "vpce-svc-xyz"}),
		plStep("ModifyVpcEndpointServiceConfiguration", provider, "ModifyVpcEndpointServiceConfiguration", map[string]string{
			"ServiceId": "{{svc2}}", "AddSupportedIpAddressType.1": "ipv4", "AcceptanceRequired": "false"}),
		plErr("ModifyVpcEndpointServiceConfiguration.error-ipv6", provider, "ModifyVpcEndpointServiceConfiguration", map[string]string{
			"ServiceId": "{{svc2}}", "AddSupportedIpAddressType.1": "ipv6"}),
		plErr("ModifyVpcEndpointServiceConfiguration.error-last-nlb", provider, "ModifyVpcEndpointServiceConfiguration", map[string]string{
			"ServiceId": "{{svc2}}", "RemoveNetworkLoadBalancerArn.1": "{{nlb2_arn}}"}),
		plErr("ModifyVpcEndpointServiceConfiguration.error-dns-combination", provider, "ModifyVpcEndpointServiceConfiguration", map[string]string{
			"ServiceId": "{{svc2}}", "PrivateDnsName": "x.example.com", "RemovePrivateDnsName": "true"}),
	}
}

func goldenPermissions() []goldenStep {
	return []goldenStep{
		plStep("DescribeVpcEndpointServices.before-permission", consumer, "DescribeVpcEndpointServices", map[string]string{
			"Filter.1.Name": "owner", "Filter.1.Value.1": provider}),
		plErr("DescribeVpcEndpointServices.error-not-allowed", consumer, "DescribeVpcEndpointServices", map[string]string{
			"ServiceName.1": "{{svc_name}}"}),
		plStep("ModifyVpcEndpointServicePermissions", provider, "ModifyVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc}}", "AddAllowedPrincipals.1": "arn:aws:iam::" + consumer + ":root"}),
		plStep("ModifyVpcEndpointServicePermissions.svc2", provider, "ModifyVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc2}}", "AddAllowedPrincipals.1": "arn:aws:iam::" + consumer + ":role/importer", "AddAllowedPrincipals.2": "elasticloadbalancing.amazonaws.com"}),
		plStep("ModifyVpcEndpointServicePermissions.remove", provider, "ModifyVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc2}}", "RemoveAllowedPrincipals.1": "elasticloadbalancing.amazonaws.com"}),
		plErr("ModifyVpcEndpointServicePermissions.error-principal", provider, "ModifyVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc}}", "AddAllowedPrincipals.1": "123456789012"}),
		plErr("ModifyVpcEndpointServicePermissions.error-other-account", consumer, "ModifyVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc}}", "AddAllowedPrincipals.1": "*"}),
		plStep("DescribeVpcEndpointServicePermissions", provider, "DescribeVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc2}}"}),
		plStep("DescribeVpcEndpointServicePermissions.by-filter", provider, "DescribeVpcEndpointServicePermissions", map[string]string{
			"ServiceId": "{{svc}}", "Filter.1.Name": "principal-type", "Filter.1.Value.1": "Account"}),
		plStep("DescribeVpcEndpointServices", consumer, "DescribeVpcEndpointServices", map[string]string{
			"ServiceName.1": "{{svc_name}}"}),
		plStep("DescribeVpcEndpointServices.by-filter", consumer, "DescribeVpcEndpointServices", map[string]string{
			"Filter.1.Name": "service-name", "Filter.1.Value.1": "{{svc2_name}}", "Filter.2.Name": "owner", "Filter.2.Value.1": provider}),
		plErr("DescribeVpcEndpointServices.error-stranger", stranger, "DescribeVpcEndpointServices", map[string]string{
			"ServiceName.1": "{{svc_name}}"}),
	}
}

func goldenEndpoints() []goldenStep {
	return []goldenStep{
		plCapture(plStep("CreateVpc.pl-consumer", consumer, "CreateVpc", map[string]string{"CidrBlock": "10.0.0.0/16"}),
			map[string]string{"pl_cvpc": "vpcId"}),
		plStep("ModifyVpcAttribute.pl-consumer", consumer, "ModifyVpcAttribute", map[string]string{
			"VpcId": "{{pl_cvpc}}", "EnableDnsHostnames.Value": "true"}),
		plCapture(plStep("CreateSubnet.pl-consumer-a", consumer, "CreateSubnet", map[string]string{
			"VpcId": "{{pl_cvpc}}", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"}), map[string]string{"pl_csub_a": "subnetId"}),
		plCapture(plStep("CreateSubnet.pl-consumer-b", consumer, "CreateSubnet", map[string]string{
			"VpcId": "{{pl_cvpc}}", "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1b"}), map[string]string{"pl_csub_b": "subnetId"}),
		plCapture(plStep("CreateSubnet.pl-consumer-a2", consumer, "CreateSubnet", map[string]string{
			"VpcId": "{{pl_cvpc}}", "CidrBlock": "10.0.3.0/24", "AvailabilityZone": "us-east-1a"}), map[string]string{"pl_csub_a2": "subnetId"}),
		plCapture(plStep("CreateSecurityGroup.pl-consumer", consumer, "CreateSecurityGroup", map[string]string{
			"VpcId": "{{pl_cvpc}}", "GroupName": "db-clients", "GroupDescription": "hosts that use the database endpoint"}),
			map[string]string{"pl_csg": "groupId"}),
		plCapture(plStep("CreateVpcEndpoint", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}",
			"SubnetId.1": "{{pl_csub_a}}", "SubnetId.2": "{{pl_csub_b}}",
			"TagSpecification.1.ResourceType": "vpc-endpoint", "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "db"}),
			map[string]string{"vpce": "vpcEndpointId"}),
		plErr("CreateVpcEndpoint.error-duplicate-zone", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}",
			"SubnetId.1": "{{pl_csub_a}}", "SubnetId.2": "{{pl_csub_a2}}"}),
		plErr("CreateVpcEndpoint.error-unsupported-zone", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc2_name}}", "SubnetId.1": "{{pl_csub_b}}"}),
		plErr("CreateVpcEndpoint.error-other-vpc-subnet", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{csubnet_a}}"}),
		plErr("CreateVpcEndpoint.error-gateway", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{pl_csub_a}}"}),
		plErr("CreateVpcEndpoint.error-private-dns-unverified", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{pl_csub_a}}", "PrivateDnsEnabled": "true"}),
		plErr("CreateVpcEndpoint.error-not-allowed", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{cvpc}}", "ServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0", "SubnetId.1": "{{csubnet_a}}"}),
		plErr("CreateVpcEndpoint.error-vpc", provider, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{pl_csub_a}}"}),
		plStep("DescribeVpcEndpoints", consumer, "DescribeVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
		plStep("DescribeVpcEndpoints.by-filter", consumer, "DescribeVpcEndpoints", map[string]string{
			"Filter.1.Name": "vpc-endpoint-state", "Filter.1.Value.1": "pendingAcceptance", "Filter.2.Name": "tag:Name", "Filter.2.Value.1": "db"}),
		plErr("DescribeVpcEndpoints.error-other-account", provider, "DescribeVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
		plStep("ModifyVpcEndpoint", consumer, "ModifyVpcEndpoint", map[string]string{
			"VpcEndpointId": "{{vpce}}", "AddSecurityGroupId.1": "{{pl_csg}}", "RemoveSubnetId.1": "{{pl_csub_b}}"}),
		plErr("ModifyVpcEndpoint.error-duplicate-zone", consumer, "ModifyVpcEndpoint", map[string]string{
			"VpcEndpointId": "{{vpce}}", "AddSubnetId.1": "{{pl_csub_a2}}"}),
		plStep("DescribeVpcEndpoints.modified", consumer, "DescribeVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
	}
}

func goldenConnections() []goldenStep {
	return []goldenStep{
		plStep("DescribeVpcEndpointConnections", provider, "DescribeVpcEndpointConnections", map[string]string{
			"Filter.1.Name": "service-id", "Filter.1.Value.1": "{{svc}}"}),
		plStep("DeleteVpcEndpointServiceConfigurations.unsuccessful", provider, "DeleteVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "{{svc}}", "ServiceId.2": "vpce-svc-0123456789abcdef0"}),
		plStep("DeleteVpcEndpoints.unsuccessful", provider, "DeleteVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
		plErr("AcceptVpcEndpointConnections.error-other-account", consumer, "AcceptVpcEndpointConnections", map[string]string{
			"ServiceId": "{{svc}}", "VpcEndpointId.1": "{{vpce}}"}),
		plStep("AcceptVpcEndpointConnections", provider, "AcceptVpcEndpointConnections", map[string]string{
			"ServiceId": "{{svc}}", "VpcEndpointId.1": "{{vpce}}"}),
		plBefore(plStep("AcceptVpcEndpointConnections.unsuccessful", provider, "AcceptVpcEndpointConnections", map[string]string{
			"ServiceId": "{{svc}}", "VpcEndpointId.1": "{{vpce}}", "VpcEndpointId.2": "vpce-0123456789abcdef0"}), plAwaitEndpoint("vpce", "available")),
		plStep("DescribeVpcEndpoints.available", consumer, "DescribeVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
		plCapture(plStep("CreateVpcEndpoint.no-acceptance", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc2_name}}", "SubnetId.1": "{{pl_csub_a}}",
			"SecurityGroupId.1": "{{pl_csg}}", "ClientToken": "pl-endpoint-1"}),
			map[string]string{"vpce2": "vpcEndpointId"}),
		plBefore(plStep("DescribeVpcEndpointConnections.available", provider, "DescribeVpcEndpointConnections", map[string]string{
			"Filter.1.Name": "vpc-endpoint-id", "Filter.1.Value.1": "{{vpce2}}"}), plAwaitEndpoint("vpce2", "available")),
		plStep("RejectVpcEndpointConnections", provider, "RejectVpcEndpointConnections", map[string]string{
			"ServiceId": "{{svc2}}", "VpcEndpointId.1": "{{vpce2}}"}),
		plStep("RejectVpcEndpointConnections.unsuccessful", provider, "RejectVpcEndpointConnections", map[string]string{
			"ServiceId": "{{svc2}}", "VpcEndpointId.1": "{{vpce}}"}),
		plStep("DescribeVpcEndpointConnections.rejected", provider, "DescribeVpcEndpointConnections", map[string]string{
			"Filter.1.Name": "vpc-endpoint-state", "Filter.1.Value.1": "rejected"}),
	}
}

func goldenPrivateDNS() []goldenStep {
	return []goldenStep{
		plErr("StartVpcEndpointServicePrivateDnsVerification.error-no-name", provider, "StartVpcEndpointServicePrivateDnsVerification", map[string]string{
			"ServiceId": "{{svc2}}"}),
		plBefore(plStep("StartVpcEndpointServicePrivateDnsVerification", provider, "StartVpcEndpointServicePrivateDnsVerification", map[string]string{
			"ServiceId": "{{svc}}"}), plServeVerification("svc")),
		plStep("DescribeVpcEndpointServiceConfigurations.verified", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "{{svc}}"}),
		plStep("DescribeVpcEndpointServices.verified", consumer, "DescribeVpcEndpointServices", map[string]string{
			"ServiceName.1": "{{svc_name}}"}),
		plStep("ModifyVpcEndpoint.private-dns", consumer, "ModifyVpcEndpoint", map[string]string{
			"VpcEndpointId": "{{vpce}}", "PrivateDnsEnabled": "true"}),
		plStep("DescribeVpcEndpoints.private-dns", consumer, "DescribeVpcEndpoints", map[string]string{"VpcEndpointId.1": "{{vpce}}"}),
		plErr("CreateVpcEndpoint.error-conflicting-domain", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{pl_cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{pl_csub_b}}"}),
		plErr("CreateVpcEndpoint.error-dns-hostnames", consumer, "CreateVpcEndpoint", map[string]string{
			"VpcEndpointType": "Interface", "VpcId": "{{cvpc}}", "ServiceName": "{{svc_name}}", "SubnetId.1": "{{csubnet_a}}"}),
	}
}

func goldenNotifications() []goldenStep {
	topic := "arn:aws:sns:us-east-1:" + provider + ":endpoint-events"
	return []goldenStep{
		plCapture(plStep("CreateVpcEndpointConnectionNotification", provider, "CreateVpcEndpointConnectionNotification", map[string]string{
			"ServiceId": "{{svc}}", "ConnectionNotificationArn": topic, "ConnectionEvents.1": "Accept", "ConnectionEvents.2": "Reject"}),
			map[string]string{"nfn": "connectionNotificationId"}),
		plStep("CreateVpcEndpointConnectionNotification.endpoint", consumer, "CreateVpcEndpointConnectionNotification", map[string]string{
			"VpcEndpointId": "{{vpce}}", "ConnectionNotificationArn": "arn:aws:sns:us-east-1:" + consumer + ":mine", "ConnectionEvents.1": "Delete"}),
		plErr("CreateVpcEndpointConnectionNotification.error-arn", provider, "CreateVpcEndpointConnectionNotification", map[string]string{
			"ServiceId": "{{svc}}", "ConnectionNotificationArn": "arn:aws:sqs:us-east-1:" + provider + ":queue", "ConnectionEvents.1": "Accept"}),
		plErr("CreateVpcEndpointConnectionNotification.error-event", provider, "CreateVpcEndpointConnectionNotification", map[string]string{
			"ServiceId": "{{svc}}", "ConnectionNotificationArn": topic, "ConnectionEvents.1": "Explode"}),
		plStep("ModifyVpcEndpointConnectionNotification", provider, "ModifyVpcEndpointConnectionNotification", map[string]string{
			"ConnectionNotificationId": "{{nfn}}", "ConnectionEvents.1": "Accept", "ConnectionEvents.2": "Connect", "ConnectionEvents.3": "Delete", "ConnectionEvents.4": "Reject"}),
		plStep("DescribeVpcEndpointConnectionNotifications", provider, "DescribeVpcEndpointConnectionNotifications", map[string]string{
			"ConnectionNotificationId": "{{nfn}}"}),
		plErr("DescribeVpcEndpointConnectionNotifications.error-other-account", consumer, "DescribeVpcEndpointConnectionNotifications", map[string]string{
			"ConnectionNotificationId": "{{nfn}}"}),
		plStep("DeleteVpcEndpointConnectionNotifications", provider, "DeleteVpcEndpointConnectionNotifications", map[string]string{
			"ConnectionNotificationId.1": "{{nfn}}", "ConnectionNotificationId.2": "vpce-nfn-0123456789abcdef0"}),
	}
}

func goldenPrivateLinkCleanup() []goldenStep {
	return []goldenStep{
		plStep("DeleteVpcEndpoints", consumer, "DeleteVpcEndpoints", map[string]string{
			"VpcEndpointId.1": "{{vpce}}", "VpcEndpointId.2": "{{vpce2}}", "VpcEndpointId.3": "vpce-0123456789abcdef0"}),
		plBefore(plStep("DescribeVpcEndpoints.deleted", consumer, "DescribeVpcEndpoints", map[string]string{
			"Filter.1.Name": "vpc-id", "Filter.1.Value.1": "{{pl_cvpc}}"}), func(t *testing.T, env *testenv.Env, c map[string]string) {
			plAwaitEndpoint("vpce", "")(t, env, c)
			plAwaitEndpoint("vpce2", "")(t, env, c)
		}),
		plStep("DeleteVpcEndpointServiceConfigurations", provider, "DeleteVpcEndpointServiceConfigurations", map[string]string{
			"ServiceId.1": "{{svc}}", "ServiceId.2": "{{svc2}}"}),
		plStep("DescribeVpcEndpointServiceConfigurations.deleted", provider, "DescribeVpcEndpointServiceConfigurations", map[string]string{
			"Filter.1.Name": "service-id", "Filter.1.Value.1": "{{svc}}"}),
		elbStep("DeleteLoadBalancer.pl-2", "DeleteLoadBalancer", map[string]string{"LoadBalancerArn": "{{nlb2_arn}}"}),
	}
}
