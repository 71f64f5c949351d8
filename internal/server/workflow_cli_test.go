package server_test

import (
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

const (
	providerAcct = "111111111111"
	consumerAcct = "222222222222"
)

// waitText polls an AWS CLI text query until it prints want.
func waitText(t *testing.T, env *testenv.Env, acct, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := env.AWSText(acct, args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws %s: %q, want %q", strings.Join(args, " "), got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGuide004WithAWSCLI runs the "reverse PrivateLink" guide with the real AWS CLI:
// the provider builds an internal NLB in three subnets with a security group, an IP
// target group on TCP:3306 with one target, a listener and an endpoint service
// without acceptance, opens it to another account; that account creates an interface
// endpoint from a VPC with the same CIDR, enables private DNS and deletes it again.
func TestGuide004WithAWSCLI(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := func(args ...string) string { t.Helper(); return env.AWSText(providerAcct, args...) }
	c := func(args ...string) string { t.Helper(); return env.AWSText(consumerAcct, args...) }

	vpc := p("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	var subnets []string
	for i, az := range []string{"a", "b", "c"} {
		subnets = append(subnets, p("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0."+string(rune('1'+i))+".0/24",
			"--availability-zone", "us-east-1"+az, "--query", "Subnet.SubnetId"))
	}
	sg := p("ec2", "create-security-group", "--group-name", "pl-nlb", "--description", "PrivateLink NLB", "--vpc-id", vpc, "--query", "GroupId")

	lbArgs := append([]string{"elbv2", "create-load-balancer", "--name", "pl-nlb", "--scheme", "internal", "--type", "network", "--subnets"}, subnets...)
	lb := p(append(lbArgs, "--security-groups", sg, "--query", "LoadBalancers[0].LoadBalancerArn")...)
	if !strings.Contains(lb, ":loadbalancer/net/pl-nlb/") {
		t.Fatalf("load balancer ARN %q", lb)
	}
	tg := p("elbv2", "create-target-group", "--name", "pl-nlb-target-group", "--protocol", "TCP", "--port", "3306",
		"--vpc-id", vpc, "--target-type", "ip", "--query", "TargetGroups[0].TargetGroupArn")
	p("elbv2", "register-targets", "--target-group-arn", tg, "--targets", "Id=10.0.0.1")
	p("elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "TCP", "--port", "3306",
		"--default-actions", "Type=forward,TargetGroupArn="+tg)
	if st := p("elbv2", "describe-target-health", "--target-group-arn", tg, "--query", "TargetHealthDescriptions[0].TargetHealth.State"); st == "healthy" {
		t.Errorf("target reports healthy without a data plane")
	}
	waitText(t, env, providerAcct, "active", "elbv2", "describe-load-balancers", "--load-balancer-arns", lb, "--query", "LoadBalancers[0].State.Code")

	svc := p("ec2", "create-vpc-endpoint-service-configuration", "--network-load-balancer-arns", lb,
		"--no-acceptance-required", "--query", "ServiceConfiguration.ServiceId")
	p("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.1.0/24")
	p("ec2", "modify-vpc-endpoint-service-permissions", "--service-id", svc,
		"--add-allowed-principals", `["arn:aws:iam::`+consumerAcct+`:root"]`)
	name := p("ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].ServiceName")
	if name != "com.amazonaws.vpce.us-east-1."+svc {
		t.Fatalf("service name %q", name)
	}
	waitText(t, env, providerAcct, "Available", "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].ServiceState")

	// The consumer sees the service and connects from a VPC with the same CIDR.
	cvpc := c("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	c("ec2", "modify-vpc-attribute", "--vpc-id", cvpc, "--enable-dns-hostnames")
	csub := c("ec2", "create-subnet", "--vpc-id", cvpc, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1a", "--query", "Subnet.SubnetId")
	if got := c("ec2", "describe-vpc-endpoint-services", "--service-names", name, "--query", "ServiceDetails[0].ServiceId"); got != svc {
		t.Fatalf("consumer sees service %q, want %s", got, svc)
	}
	vpce := c("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csub,
		"--service-name", name, "--query", "VpcEndpoint.VpcEndpointId")
	waitText(t, env, consumerAcct, "available", "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State")
	dns := c("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].DnsEntries[0].DnsName")
	if !strings.HasPrefix(dns, vpce+"-") || !strings.HasSuffix(dns, "."+svc+".us-east-1.vpce.amazonaws.com") {
		t.Errorf("regional DNS name %q", dns)
	}
	ip := c("ec2", "describe-network-interfaces", "--filters", "Name=vpc-id,Values="+cvpc, "--query", "NetworkInterfaces[0].PrivateIpAddress")
	if !strings.HasPrefix(ip, "10.0.1.") || ip == "10.0.1.0" || ip == "10.0.1.1" || ip == "10.0.1.2" || ip == "10.0.1.3" {
		t.Errorf("endpoint ENI address %q", ip)
	}
	if got := p("ec2", "describe-vpc-endpoint-connections", "--filters", "Name=service-id,Values="+svc, "--query", "VpcEndpointConnections[0].[VpcEndpointId,VpcEndpointOwner,VpcEndpointState]"); got != vpce+"\t"+consumerAcct+"\tavailable" {
		t.Errorf("provider's view of the connection: %q", got)
	}

	// A third account is not allowed: it neither sees the service nor connects.
	other := "333333333333"
	ovpc := env.AWSText(other, "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	osub := env.AWSText(other, "ec2", "create-subnet", "--vpc-id", ovpc, "--cidr-block", "10.0.1.0/24", "--query", "Subnet.SubnetId")
	if msg := env.AWSError(other, "ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", ovpc, "--subnet-ids", osub, "--service-name", name); !strings.Contains(msg, "InvalidServiceName") {
		t.Errorf("not-allowed account: %s", msg)
	}

	// The service cannot go while the connection is live.
	if got := p("ec2", "delete-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "Unsuccessful[0].Error.Code"); got != "ExistingVpcEndpointConnections" {
		t.Errorf("deleting a service with a live connection: %q", got)
	}

	// Clean deletion, consumer first.
	c("ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", vpce)
	waitText(t, env, consumerAcct, "", "ec2", "describe-vpc-endpoints", "--query", "VpcEndpoints[].VpcEndpointId")
	c("ec2", "delete-subnet", "--subnet-id", csub)
	c("ec2", "delete-vpc", "--vpc-id", cvpc)
	p("ec2", "delete-vpc-endpoint-service-configurations", "--service-ids", svc)
	p("elbv2", "delete-load-balancer", "--load-balancer-arn", lb)
	p("elbv2", "delete-target-group", "--target-group-arn", tg)
	p("ec2", "delete-security-group", "--group-id", sg)
	for _, s := range subnets {
		p("ec2", "delete-subnet", "--subnet-id", s)
	}
	p("ec2", "delete-vpc", "--vpc-id", vpc)
	if got := p("ec2", "describe-vpcs", "--query", "Vpcs[?!IsDefault].VpcId"); got != "" {
		t.Errorf("provider VPCs left: %q", got)
	}
}

// TestGuide000WithAWSCLI runs the acceptance flow: the endpoint waits in
// pendingAcceptance until the provider accepts it by endpoint ID; a second endpoint is
// rejected; the provider verifies a private DNS name against the configured resolver
// and the consumer enables private DNS on its endpoint.
func TestGuide000WithAWSCLI(t *testing.T) {
	t.Parallel()
	dns := testenv.StartDNS(t)
	env := testenv.StartConfig(t, server.Config{Dev: true, Resolver: dns.Addr})
	p := func(args ...string) string { t.Helper(); return env.AWSText(providerAcct, args...) }
	c := func(args ...string) string { t.Helper(); return env.AWSText(consumerAcct, args...) }

	vpc := p("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	sub := p("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1a", "--query", "Subnet.SubnetId")
	lb := p("elbv2", "create-load-balancer", "--name", "tidb", "--scheme", "internal", "--type", "network", "--subnets", sub, "--query", "LoadBalancers[0].LoadBalancerArn")
	tg := p("elbv2", "create-target-group", "--name", "tidb-4000", "--protocol", "TCP", "--port", "4000", "--vpc-id", vpc, "--target-type", "ip", "--query", "TargetGroups[0].TargetGroupArn")
	p("elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "TCP", "--port", "4000", "--default-actions", "Type=forward,TargetGroupArn="+tg)
	svc := p("ec2", "create-vpc-endpoint-service-configuration", "--network-load-balancer-arns", lb, "--acceptance-required", "--query", "ServiceConfiguration.ServiceId")
	p("ec2", "modify-vpc-endpoint-service-permissions", "--service-id", svc, "--add-allowed-principals", `["*"]`)
	name := "com.amazonaws.vpce.us-east-1." + svc

	cvpc := c("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16", "--query", "Vpc.VpcId")
	csub := c("ec2", "create-subnet", "--vpc-id", cvpc, "--cidr-block", "10.0.1.0/24", "--availability-zone", "us-east-1a", "--query", "Subnet.SubnetId")
	waitText(t, env, providerAcct, "Available", "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].ServiceState")
	vpce := c("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csub, "--service-name", name, "--query", "VpcEndpoint.VpcEndpointId")
	if st := c("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State"); st != "pendingAcceptance" {
		t.Fatalf("state before acceptance: %q", st)
	}
	p("ec2", "accept-vpc-endpoint-connections", "--service-id", svc, "--vpc-endpoint-ids", vpce)
	waitText(t, env, consumerAcct, "available", "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State")

	// A second endpoint from another subnet is rejected.
	csub2 := c("ec2", "create-subnet", "--vpc-id", cvpc, "--cidr-block", "10.0.2.0/24", "--availability-zone", "us-east-1a", "--query", "Subnet.SubnetId")
	vpce2 := c("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csub2, "--service-name", name, "--query", "VpcEndpoint.VpcEndpointId")
	p("ec2", "reject-vpc-endpoint-connections", "--service-id", svc, "--vpc-endpoint-ids", vpce2)
	waitText(t, env, consumerAcct, "rejected", "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce2, "--query", "VpcEndpoints[0].State")

	// Private DNS needs a verified name on the service: without one it is refused.
	c("ec2", "modify-vpc-attribute", "--vpc-id", cvpc, "--enable-dns-hostnames")
	if msg := env.AWSError(consumerAcct, "ec2", "modify-vpc-endpoint", "--vpc-endpoint-id", vpce, "--private-dns-enabled"); !strings.Contains(msg, "InvalidParameter") {
		t.Errorf("private DNS without a verified name: %s", msg)
	}

	// The provider names the service, publishes the TXT record and verifies it.
	p("ec2", "modify-vpc-endpoint-service-configuration", "--service-id", svc, "--private-dns-name", "db.tidb.example.test")
	rec := strings.Fields(p("ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc,
		"--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.[State,Type,Name,Value]"))
	if len(rec) != 4 || rec[0] != "pendingVerification" || rec[1] != "TXT" || !strings.HasPrefix(rec[2], "_") || !strings.HasPrefix(rec[3], "vpce:") {
		t.Fatalf("verification record: %q", rec)
	}
	p("ec2", "start-vpc-endpoint-service-private-dns-verification", "--service-id", svc)
	waitText(t, env, providerAcct, "failed", "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.State")
	dns.SetTXT(rec[2]+".db.tidb.example.test", rec[3])
	p("ec2", "start-vpc-endpoint-service-private-dns-verification", "--service-id", svc)
	waitText(t, env, providerAcct, "verified", "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.State")
	if got := c("ec2", "describe-vpc-endpoint-services", "--service-names", name, "--query", "ServiceDetails[0].PrivateDnsName"); got != "db.tidb.example.test" {
		t.Errorf("consumer sees private DNS name %q", got)
	}
	c("ec2", "modify-vpc-endpoint", "--vpc-endpoint-id", vpce, "--private-dns-enabled")
	waitText(t, env, consumerAcct, "True", "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].PrivateDnsEnabled")
	waitText(t, env, consumerAcct, "db.tidb.example.test", "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].DnsEntries[?DnsName=='db.tidb.example.test'].DnsName | [0]")

	c("ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", vpce, vpce2)
	waitText(t, env, consumerAcct, "", "ec2", "describe-vpc-endpoints", "--query", "VpcEndpoints[].VpcEndpointId")
}
