package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
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

// link is a provider service and a consumer endpoint, built with the SDK: provider
// VPC 10.0.0.0/16 (subnets in us-east-1a and b), target instances, an NLB with a TCP
// listener on port 7000, an endpoint service; consumer VPC 10.0.0.0/16 with a client
// instance and an interface endpoint in us-east-1a.
type link struct {
	t          *testing.T
	env        *testenv.Env
	ctx        context.Context
	pec2       *ec2.Client
	cec2       *ec2.Client
	elb        *elbv2.Client
	vpc        string
	subnets    []string
	lb         string
	tg         string
	svc        string
	cvpc       string
	csubnet    string
	endpoint   string
	endpointIP string
}

const servicePort = 7000

func newLink(t *testing.T, env *testenv.Env) *link {
	t.Helper()
	return newLinkWith(t, env, env.Config, "a", "b")
}

// newLinkWith is newLink with the accounts' SDK configurations from config and
// the provider's subnets in zones (letters of us-east-1).
func newLinkWith(t *testing.T, env *testenv.Env, config func(acct string) aws.Config, zones ...string) *link {
	t.Helper()
	l := &link{t: t, env: env, ctx: context.Background(), pec2: ec2.NewFromConfig(config(providerAcct)), cec2: ec2.NewFromConfig(config(consumerAcct)),
		elb: elbv2.NewFromConfig(config(providerAcct))}
	l.vpc, l.subnets = l.network(l.pec2, zones...)
	// Targets run in the VPC's default group: let the load balancer's nodes in, as
	// on AWS (the group admits only its own members by default).
	sgs, err := l.pec2.DescribeSecurityGroups(l.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{l.vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	check(t, err)
	_, err = l.pec2.AuthorizeSecurityGroupIngress(l.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sgs.SecurityGroups[0].GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(servicePort), ToPort: aws.Int32(servicePort), CidrIp: aws.String("10.0.0.0/16")})
	check(t, err)
	lb, err := l.elb.CreateLoadBalancer(l.ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("e2e"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: l.subnets})
	check(t, err)
	l.lb = *lb.LoadBalancers[0].LoadBalancerArn
	tg, err := l.elb.CreateTargetGroup(l.ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("e2e"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), VpcId: aws.String(l.vpc), TargetType: elbtypes.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	check(t, err)
	l.tg = *tg.TargetGroups[0].TargetGroupArn
	_, err = l.elb.CreateListener(l.ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(l.lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(servicePort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(l.tg)}}})
	check(t, err)
	svc, err := l.pec2.CreateVpcEndpointServiceConfiguration(l.ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{l.lb}, AcceptanceRequired: aws.Bool(false)})
	check(t, err)
	l.svc = *svc.ServiceConfiguration.ServiceId
	_, err = l.pec2.ModifyVpcEndpointServicePermissions(l.ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: aws.String(l.svc),
		AddAllowedPrincipals: []string{"arn:aws:iam::" + consumerAcct + ":root"}})
	check(t, err)
	var cs []string
	l.cvpc, cs = l.network(l.cec2, "a")
	l.csubnet = cs[0]
	return l
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (l *link) network(c *ec2.Client, zones ...string) (string, []string) {
	l.t.Helper()
	v, err := c.CreateVpc(l.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	check(l.t, err)
	var subnets []string
	for i, z := range zones {
		s, err := c.CreateSubnet(l.ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)),
			AvailabilityZone: aws.String("us-east-1" + z)})
		check(l.t, err)
		subnets = append(subnets, *s.Subnet.SubnetId)
	}
	return *v.Vpc.VpcId, subnets
}

// instance runs an instance in a subnet (with security groups, if given) and waits
// until it is running.
func (l *link) instance(c *ec2.Client, subnet string, groups ...string) (id, ip string) {
	l.t.Helper()
	out, err := c.RunInstances(l.ctx, &ec2.RunInstancesInput{ImageId: aws.String(imageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnet), SecurityGroupIds: groups})
	check(l.t, err)
	id, ip = *out.Instances[0].InstanceId, *out.Instances[0].PrivateIpAddress
	testenv.Eventually(l.t, 2*time.Minute, "instance "+id+" running", func() error {
		d, err := c.DescribeInstances(l.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if st := d.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameRunning {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	return id, ip
}

// target runs a provider instance with a line server on the service port that
// answers each line with "<name> <line>"; it registers the instance and returns the
// instance ID and the listener (close it to kill the target).
func (l *link) target(subnet, name string, handle func(net.Conn)) (string, net.Listener) {
	l.t.Helper()
	id, _ := l.instance(l.pec2, subnet)
	ln := testenv.ListenIn(l.t, id, fmt.Sprintf(":%d", servicePort))
	if handle == nil {
		handle = func(c net.Conn) { lineServer(c, name) }
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	_, err := l.elb.RegisterTargets(l.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(l.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(id)}}})
	check(l.t, err)
	return id, ln
}

func lineServer(c net.Conn, name string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, name+" "+line); err != nil {
			return
		}
	}
}

// waitHealth waits until every registered target reports state.
func (l *link) waitHealth(state elbtypes.TargetHealthStateEnum, timeout time.Duration) {
	l.t.Helper()
	testenv.Eventually(l.t, timeout, "targets "+string(state), func() error {
		h, err := l.elb.DescribeTargetHealth(l.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(l.tg)})
		if err != nil {
			return err
		}
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth.State != state {
				return fmt.Errorf("target %s is %s", *d.Target.Id, d.TargetHealth.State)
			}
		}
		return nil
	})
}

// connect creates the consumer's endpoint (with security groups, if given) and
// waits until it is available; it records the endpoint's address.
func (l *link) connect(groups ...string) {
	l.t.Helper()
	out, err := l.cec2.CreateVpcEndpoint(l.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(l.cvpc), SubnetIds: []string{l.csubnet}, ServiceName: aws.String("com.amazonaws.vpce.us-east-1." + l.svc),
		SecurityGroupIds: groups})
	check(l.t, err)
	l.endpoint = *out.VpcEndpoint.VpcEndpointId
	l.waitEndpoint("available")
	enis, err := l.cec2.DescribeNetworkInterfaces(l.ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: out.VpcEndpoint.NetworkInterfaceIds})
	check(l.t, err)
	l.endpointIP = *enis.NetworkInterfaces[0].PrivateIpAddress
}

func (l *link) waitEndpoint(state string) {
	l.t.Helper()
	testenv.Eventually(l.t, 2*time.Minute, "endpoint "+state, func() error {
		d, err := l.cec2.DescribeVpcEndpoints(l.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{l.endpoint}})
		if err != nil {
			return err
		}
		if st := string(d.VpcEndpoints[0].State); !strings.EqualFold(st, state) {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
}

// addr is the endpoint's address and the service port.
func (l *link) addr() string { return fmt.Sprintf("%s:%d", l.endpointIP, servicePort) }

// ask sends one line over a new connection from an instance and returns the answer.
func ask(t *testing.T, from, addr, line string) (string, error) {
	t.Helper()
	c, err := testenv.DialFrom(t, from, addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(got), err
}

// dbAndClient runs a target "db" (a line server in the provider's first
// subnet) and a client instance in the consumer subnet, and connects the
// endpoint: the common start of a traffic test.
func (l *link) dbAndClient() (target, client string) {
	l.t.Helper()
	target, _ = l.target(l.subnets[0], "db", nil)
	client, _ = l.instance(l.cec2, l.csubnet)
	l.connect()
	return target, client
}

// onBothPaths runs a traffic test on each forwarding path as a subtest: every
// eligible endpoint listener translated in the kernel, and every one through
// the relay (strait server --forwarding).
func onBothPaths(t *testing.T, test func(t *testing.T, cfg server.Config)) {
	for _, f := range []string{"kernel", "relay"} {
		t.Run(f, func(t *testing.T) { test(t, server.Config{Forwarding: f}) })
	}
}

// withDir is cfg with a data directory.
func withDir(cfg server.Config, dir string) server.Config {
	cfg.DataDir = dir
	return cfg
}
