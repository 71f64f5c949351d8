package reconcile_test

import (
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/agent"
	"strait/internal/reconcile"
	"strait/internal/reconcile/status"
	"strait/internal/testenv"
)

// SetSubnets, SetSecurityGroups and ModifySecurityGroupRules change what the data
// plane realizes: a subnet in a new zone gives the load balancer a node there (an
// address of that subnet), and new security groups, or modified rules, are the
// rules its nodes apply, PrivateLink traffic included unless enforcement is off
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html).
func TestDesiredLoadBalancerUpdates(t *testing.T) {
	env := testenv.Start(t)
	ctl := env.Server.Control()
	ctx := testenv.Ctx(t)
	e, elb := env.EC2(provider), env.ELB(provider)
	vpc, subnets := env.Network(provider, testenv.Zones(2)...)
	var postgresRule string
	group := func(name string, port int32, cidr string) string {
		t.Helper()
		g, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(vpc)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpProtocol: aws.String("tcp"),
			FromPort: aws.Int32(port), ToPort: aws.Int32(port), CidrIp: aws.String(cidr)})
		if err != nil {
			t.Fatal(err)
		}
		postgresRule = *r.SecurityGroupRules[0].SecurityGroupRuleId
		return *g.GroupId
	}
	mysql, postgres := group("mysql", 3306, "10.0.1.0/24"), group("postgres", 5432, "10.0.2.0/24")
	out, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("moving"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets[:1], SecurityGroups: []string{mysql}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.LoadBalancers[0].LoadBalancerArn
	desiredLB := func() agent.LoadBalancer {
		t.Helper()
		snap, err := status.New(ctl).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := reconcile.Desired(snap, ctl)
		if len(st.LoadBalancers) != 1 {
			t.Fatalf("desired load balancers: %+v", st.LoadBalancers)
		}
		return st.LoadBalancers[0]
	}
	ingressPorts := func(lb agent.LoadBalancer) []int32 {
		var ports []int32
		for _, r := range lb.Firewall.Ingress {
			ports = append(ports, r.FromPort)
		}
		return ports
	}
	if lb := desiredLB(); len(lb.Nodes) != 1 || lb.Nodes[0].AZ != "us-east-1a" || len(ingressPorts(lb)) != 1 || ingressPorts(lb)[0] != 3306 || !lb.EnforceOnPrivateLink {
		t.Fatalf("before: nodes %+v, ingress %v, enforce %v", lb.Nodes, ingressPorts(lb), lb.EnforceOnPrivateLink)
	}

	if _, err := elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: arn, Subnets: subnets}); err != nil {
		t.Fatal(err)
	}
	lb := desiredLB()
	if len(lb.Nodes) != 2 || len(lb.ENIs) != 2 {
		t.Fatalf("after adding us-east-1b: nodes %+v, interfaces %+v", lb.Nodes, lb.ENIs)
	}
	if n := lb.Nodes[1]; n.AZ != "us-east-1b" || !netip.MustParsePrefix("10.0.2.0/24").Contains(n.IP) || lb.ENIs[1].SubnetID != subnets[1] {
		t.Errorf("new node %+v on %+v, want one in %s (10.0.2.0/24)", n, lb.ENIs[1], subnets[1])
	}

	if _, err := elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: []string{postgres},
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnumOff}); err != nil {
		t.Fatal(err)
	}
	lb = desiredLB()
	if p := ingressPorts(lb); len(p) != 1 || p[0] != 5432 || lb.Firewall.Ingress[0].Prefixes[0] != netip.MustParsePrefix("10.0.2.0/24") || lb.EnforceOnPrivateLink {
		t.Errorf("after SetSecurityGroups: ingress %+v, enforce %v", lb.Firewall.Ingress, lb.EnforceOnPrivateLink)
	}
	// ModifySecurityGroupRules changes the rule the nodes apply
	// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySecurityGroupRules.html).
	if _, err := e.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(postgres),
		SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(postgresRule), SecurityGroupRule: &ec2types.SecurityGroupRuleRequest{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6432), ToPort: aws.Int32(6432), CidrIpv4: aws.String("10.0.3.0/24")}}}}); err != nil {
		t.Fatal(err)
	}
	if lb := desiredLB(); len(lb.Firewall.Ingress) != 1 || lb.Firewall.Ingress[0].FromPort != 6432 || lb.Firewall.Ingress[0].Prefixes[0] != netip.MustParsePrefix("10.0.3.0/24") {
		t.Errorf("after ModifySecurityGroupRules: ingress %+v", lb.Firewall.Ingress)
	}
	// The old group no longer has members: it can be deleted.
	if _, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(mysql)}); err != nil {
		t.Errorf("deleting the group the load balancer left: %v", err)
	}
}
