package e2e_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestSetSubnetsAndGroupsCarryTraffic: SetSubnets gives a published NLB a node in
// a new zone, which the endpoint service then offers and which carries that zone's
// traffic to its targets (cross-zone off: the node of zone a could not reach a
// target in zone b); SetSecurityGroups replaces the rules the nodes apply to
// PrivateLink traffic
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html).
func TestSetSubnetsAndGroupsCarryTraffic(t *testing.T) {
	onBothPaths(t, testSetSubnetsAndGroupsCarryTraffic)
}

func testSetSubnetsAndGroupsCarryTraffic(t *testing.T, cfg server.Config) {
	env := testenv.StartNetns(t, cfg)
	l := &link{t: t, env: env, ctx: context.Background(), pec2: env.EC2(providerAcct), cec2: env.EC2(consumerAcct), elb: env.ELB(providerAcct)}
	ctx := l.ctx
	l.vpc, l.subnets = l.network(l.pec2, "a", "b")
	group := func(name string, open bool) string {
		g, err := l.pec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(l.vpc)})
		check(t, err)
		if open {
			_, err = l.pec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpProtocol: aws.String("tcp"),
				FromPort: aws.Int32(servicePort), ToPort: aws.Int32(servicePort), CidrIp: aws.String("10.0.0.0/16")})
			check(t, err)
		}
		return *g.GroupId
	}
	open, closed, targets := group("nlb-open", true), group("nlb-closed", false), group("targets", true)

	// The target, in zone b, answers with the address it sees: the NLB node's.
	target, _ := l.instance(l.pec2, l.subnets[1], targets)
	ln := testenv.ListenIn(t, target, fmt.Sprintf(":%d", servicePort))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				from, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				buf := make([]byte, 64)
				if _, err := c.Read(buf); err == nil {
					fmt.Fprintf(c, "%s\n", from)
				}
			}(c)
		}
	}()

	lb, err := l.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("moving"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: l.subnets[:1], SecurityGroups: []string{open}})
	check(t, err)
	l.lb = *lb.LoadBalancers[0].LoadBalancerArn
	tg, err := l.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("moving"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), VpcId: aws.String(l.vpc), TargetType: elbtypes.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	check(t, err)
	l.tg = *tg.TargetGroups[0].TargetGroupArn
	_, err = l.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(l.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(target)}}})
	check(t, err)
	_, err = l.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(l.lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(l.tg)}}})
	check(t, err)
	svc, err := l.pec2.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{l.lb}, AcceptanceRequired: aws.Bool(false)})
	check(t, err)
	l.svc = *svc.ServiceConfiguration.ServiceId
	_, err = l.pec2.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: aws.String(l.svc),
		AddAllowedPrincipals: []string{"arn:aws:iam::" + consumerAcct + ":root"}})
	check(t, err)

	// The consumer is in zone b, which the service does not offer yet.
	var cs []string
	l.cvpc, cs = l.network(l.cec2, "a", "b")
	l.csubnet = cs[1]
	client, _ := l.instance(l.cec2, l.csubnet)
	_, err = l.cec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(l.cvpc), SubnetIds: []string{l.csubnet}, ServiceName: aws.String("com.amazonaws.vpce.us-east-1." + l.svc)})
	if err == nil {
		t.Fatal("an endpoint in us-east-1b before the NLB has a node there")
	}

	_, err = l.elb.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(l.lb), Subnets: l.subnets})
	check(t, err)
	desc, err := l.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{l.lb}})
	check(t, err)
	nodeB := *desc.LoadBalancers[0].AvailabilityZones[1].LoadBalancerAddresses[0].PrivateIPv4Address
	testenv.Eventually(t, 30*time.Second, "the service offers us-east-1b", func() error {
		out, err := l.pec2.DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{ServiceIds: []string{l.svc}})
		if err != nil {
			return err
		}
		if z := out.ServiceConfigurations[0].AvailabilityZones; len(z) != 2 {
			return fmt.Errorf("zones %v", z)
		}
		return nil
	})
	l.connect()
	l.waitHealth(elbtypes.TargetHealthStateEnumHealthy, 30*time.Second)
	testenv.Eventually(t, 30*time.Second, "a connection through the new node", func() error {
		got, err := ask(t, client, l.addr(), "hello")
		if err != nil {
			return err
		}
		if got != nodeB {
			return fmt.Errorf("the target saw %q, want the new node %s", got, nodeB)
		}
		return nil
	})

	// Groups without a rule for the consumer: PrivateLink traffic is dropped.
	_, err = l.elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(l.lb), SecurityGroups: []string{closed}})
	check(t, err)
	testenv.Eventually(t, 30*time.Second, "the closed group drops the connection", func() error {
		if got, err := ask(t, client, l.addr(), "hello"); err == nil {
			return fmt.Errorf("still answered %q", got)
		}
		return nil
	})
	_, err = l.elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(l.lb), SecurityGroups: []string{open}})
	check(t, err)
	testenv.Eventually(t, 30*time.Second, "the open group admits it again", func() error {
		got, err := ask(t, client, l.addr(), "hello")
		if err == nil && !strings.HasPrefix(got, "10.0.") {
			err = fmt.Errorf("answer %q", got)
		}
		return err
	})
}
