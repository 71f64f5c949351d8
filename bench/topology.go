package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/model"
)

const (
	providerAcct = "111111111111"
	consumerAcct = "222222222222"
	imageID      = "ami-0abcdef1234567890"
	portPlain    = 7000 // NLB listener and target port, PROXY v2 off
	portPPv2     = 7001 // NLB listener and target port, PROXY v2 on
	portFailover = 7002 // NLB listener and target port of the two-target group
	portRelay    = 7003 // NLB listener and target port, PROXY v2 off, strait.relay.enabled
	portRelayFO  = 7004 // the two-target group again, strait.relay.enabled
	portHAProxy  = 7100 // HAProxy's listener on the gateway of instance A's subnet
)

// topology is what the driver builds with the SDK:
//
//	provider VPC 10.0.0.0/16: subnet a 10.0.1.0/24 (us-east-1a) with instance A (the
//	direct and HAProxy client), subnet b 10.0.2.0/24 (us-east-1b) with instances B
//	(the server of every path) and C (the second failover target); an internal NLB
//	in both subnets with listeners 7000 → B, 7001 → B with PROXY v2, 7002 → B and C,
//	and with strait.relay.enabled 7003 → B and 7004 → B and C (the kernel path
//	carries 7000 and 7002, the relay 7001, 7003 and 7004); an endpoint service
//	open to the consumer account.
//	consumer VPC 10.0.0.0/16: subnet 10.0.1.0/24 (us-east-1b) with the client
//	instance and the interface endpoint, subnet 10.0.16.0/20 (us-east-1b) for the
//	endpoints of the control-plane and scale figures.
type topology struct {
	pec2, cec2 *ec2.Client
	elb        *elbv2.Client

	vpc                   string
	subnetA, subnetB      string
	gatewayA              string // the VPC router's address in subnet a
	a, aIP, b, bIP, c     string // provider instances and addresses
	lb                    string
	tgPlain, tgPP, tgFail string
	tgRelay, tgRelayFail  string // the same as tgPlain and tgFail, relayed
	svc, svcName          string
	cvpc, csub, cscale    string
	client                string // consumer instance
	endpoint, endpointIP  string
}

// apiTransportErrors counts API requests whose connection failed (the SDK retries
// those after a backoff of up to seconds, which shows up as slow calls).
var apiTransportErrors struct {
	sync.Mutex
	n     int
	first string
}

// countingClient is the SDK's HTTP client, counting failed connections.
type countingClient struct{ inner aws.HTTPClient }

// Do sends the request and counts a transport error.
func (c countingClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(req)
	if err != nil {
		apiTransportErrors.Lock()
		if apiTransportErrors.n++; apiTransportErrors.n == 1 {
			apiTransportErrors.first = err.Error()
		}
		apiTransportErrors.Unlock()
	}
	return resp, err
}

// sdkConfig is an AWS config for account acct against the server at url; only
// failed connections are retried, so every error Strait returns is seen.
func sdkConfig(url, acct string) aws.Config {
	return aws.Config{
		HTTPClient:   countingClient{awshttp.NewBuildableClient()},
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(acct, "dev", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
			})
		},
	}
}

// buildTopology creates the topology; logf reports progress.
func buildTopology(ctx context.Context, url string, logf func(string, ...any)) (*topology, error) {
	t := newTopology(url)
	var err error
	if t.vpc, err = createVPC(ctx, t.pec2); err != nil {
		return t, err
	}
	if t.subnetA, err = createSubnet(ctx, t.pec2, t.vpc, "10.0.1.0/24", "a"); err != nil {
		return t, err
	}
	t.gatewayA = "10.0.1.1"
	if t.subnetB, err = createSubnet(ctx, t.pec2, t.vpc, "10.0.2.0/24", "b"); err != nil {
		return t, err
	}
	// Instances run in the VPC's default group, which admits its own members; let
	// the load balancer's nodes and the VPC router (HAProxy) in on the test ports.
	if err := t.openPorts(ctx, portPlain, portRelayFO); err != nil {
		return t, err
	}
	logf("provider VPC %s, launching instances", t.vpc)
	if t.a, t.aIP, err = runInstance(ctx, t.pec2, t.subnetA); err != nil {
		return t, err
	}
	if t.b, t.bIP, err = runInstance(ctx, t.pec2, t.subnetB); err != nil {
		return t, err
	}
	if t.c, _, err = runInstance(ctx, t.pec2, t.subnetB); err != nil {
		return t, err
	}
	lb, err := t.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("bench"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: []string{t.subnetA, t.subnetB}})
	if err != nil {
		return t, err
	}
	t.lb = *lb.LoadBalancers[0].LoadBalancerArn
	ppv2 := map[string]string{"proxy_protocol_v2.enabled": "true"}
	relay := map[string]string{model.RelayAttribute: "true"}
	for _, g := range []struct {
		arn     *string
		name    string
		port    int32
		attrs   map[string]string
		targets []string
	}{
		{&t.tgPlain, "plain", portPlain, nil, []string{t.b}},
		{&t.tgPP, "proxyv2", portPPv2, ppv2, []string{t.b}},
		{&t.tgFail, "failover", portFailover, nil, []string{t.b, t.c}},
		{&t.tgRelay, "relay", portRelay, relay, []string{t.b}},
		{&t.tgRelayFail, "relay-failover", portRelayFO, relay, []string{t.b, t.c}},
	} {
		if *g.arn, err = t.targetGroup(ctx, g.name, g.port, g.attrs, g.targets...); err != nil {
			return t, err
		}
	}
	if err := t.createService(ctx); err != nil {
		return t, err
	}
	logf("endpoint service %s; consumer VPC", t.svcName)
	if t.cvpc, err = createVPC(ctx, t.cec2); err != nil {
		return t, err
	}
	if t.csub, err = createSubnet(ctx, t.cec2, t.cvpc, "10.0.1.0/24", "b"); err != nil {
		return t, err
	}
	if t.cscale, err = createSubnet(ctx, t.cec2, t.cvpc, "10.0.16.0/20", "b"); err != nil {
		return t, err
	}
	if t.client, _, err = runInstance(ctx, t.cec2, t.csub); err != nil {
		return t, err
	}
	t.endpoint, t.endpointIP, err = t.createEndpoint(ctx, t.csub)
	if err != nil {
		return t, err
	}
	if _, err := t.waitEndpoints(ctx, []string{t.endpoint}, "available", 60*time.Second); err != nil {
		return t, err
	}
	logf("endpoint %s at %s", t.endpoint, t.endpointIP)
	return t, nil
}

// newTopology is a topology with its API clients (the provider's EC2 and
// ELBv2, the consumer's EC2) for the server at url, nothing created yet.
func newTopology(url string) *topology {
	t := &topology{
		pec2: ec2.NewFromConfig(sdkConfig(url, providerAcct)),
		cec2: ec2.NewFromConfig(sdkConfig(url, consumerAcct)),
		elb:  elbv2.NewFromConfig(sdkConfig(url, providerAcct)),
	}
	return t
}

// openPorts lets the provider VPC's 10.0.0.0/16 (instances in other subnets,
// the load balancer's nodes, the VPC router) into its default group on the TCP
// ports from–to: the instances run in that group, which admits only its own
// members.
func (t *topology) openPorts(ctx context.Context, from, to int32) error {
	sgs, err := t.pec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{t.vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil {
		return err
	}
	_, err = t.pec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sgs.SecurityGroups[0].GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to), CidrIp: aws.String("10.0.0.0/16")})
	return err
}

// createService creates the endpoint service of the load balancer (no
// acceptance) and allows the consumer account.
func (t *topology) createService(ctx context.Context) error {
	svc, err := t.pec2.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{t.lb}, AcceptanceRequired: aws.Bool(false)})
	if err != nil {
		return err
	}
	t.svc, t.svcName = *svc.ServiceConfiguration.ServiceId, *svc.ServiceConfiguration.ServiceName
	_, err = t.pec2.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: aws.String(t.svc),
		AddAllowedPrincipals: []string{"arn:aws:iam::" + consumerAcct + ":root"}})
	return err
}

// createVPC creates a 10.0.0.0/16 VPC.
func createVPC(ctx context.Context, c *ec2.Client) (string, error) {
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return "", err
	}
	return *v.Vpc.VpcId, nil
}

// createSubnet creates a subnet in zone us-east-1<zone>.
func createSubnet(ctx context.Context, c *ec2.Client, vpc, cidr, zone string) (string, error) {
	s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String("us-east-1" + zone)})
	if err != nil {
		return "", err
	}
	return *s.Subnet.SubnetId, nil
}

// runInstance launches an instance in subnet and waits until it is running.
func runInstance(ctx context.Context, c *ec2.Client, subnet string) (id, ip string, err error) {
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(imageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnet)})
	if err != nil {
		return "", "", err
	}
	id, ip = *out.Instances[0].InstanceId, *out.Instances[0].PrivateIpAddress
	err = poll(ctx, 60*time.Second, 20*time.Millisecond, func() (bool, error) {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return false, err
		}
		return d.Reservations[0].Instances[0].State.Name == ec2types.InstanceStateNameRunning, nil
	})
	return id, ip, err
}

// targetGroup creates an instance target group on port with fast health checks
// and the given attributes, registers targets and forwards the NLB's listener on
// the same port to it.
func (t *topology) targetGroup(ctx context.Context, name string, port int32, attrs map[string]string, targets ...string) (string, error) {
	tg, err := t.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(port), VpcId: aws.String(t.vpc), TargetType: elbtypes.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		return "", err
	}
	arn := *tg.TargetGroups[0].TargetGroupArn
	set := []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		set = append(set, elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(attrs[k])})
	}
	if _, err := t.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: set}); err != nil {
		return "", err
	}
	var descs []elbtypes.TargetDescription
	for _, id := range targets {
		descs = append(descs, elbtypes.TargetDescription{Id: aws.String(id)})
	}
	if _, err := t.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: descs}); err != nil {
		return "", err
	}
	_, err = t.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(t.lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(port), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}}})
	return arn, err
}

// createEndpoint creates an interface endpoint to the service in a consumer subnet
// and returns its ID and its ENI's address.
func (t *topology) createEndpoint(ctx context.Context, subnet string) (id, ip string, err error) {
	out, err := t.cec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(t.cvpc), SubnetIds: []string{subnet}, ServiceName: aws.String(t.svcName)})
	if err != nil {
		return "", "", err
	}
	id = *out.VpcEndpoint.VpcEndpointId
	enis, err := t.cec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: out.VpcEndpoint.NetworkInterfaceIds})
	if err != nil {
		return id, "", err
	}
	return id, *enis.NetworkInterfaces[0].PrivateIpAddress, nil
}

// waitEndpoints polls DescribeVpcEndpoints until every endpoint is in state
// ("deleted": gone or deleted) and returns when each got there, from the call.
func (t *topology) waitEndpoints(ctx context.Context, ids []string, state string, timeout time.Duration) (map[string]time.Time, error) {
	reached := map[string]time.Time{}
	err := poll(ctx, timeout, time.Millisecond, func() (bool, error) {
		seen := map[string]string{}
		for chunk := range chunks(ids, 1000) {
			var pending []string
			for _, id := range chunk {
				if _, ok := reached[id]; !ok {
					pending = append(pending, id)
				}
			}
			if len(pending) == 0 {
				continue
			}
			d, err := t.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-endpoint-id"), Values: pending}}})
			if err != nil {
				return false, err
			}
			for _, e := range d.VpcEndpoints {
				seen[*e.VpcEndpointId] = strings.ToLower(string(e.State))
			}
		}
		now := time.Now()
		for _, id := range ids {
			if _, ok := reached[id]; ok {
				continue
			}
			st, ok := seen[id]
			if st == strings.ToLower(state) || (state == "deleted" && !ok) {
				reached[id] = now
			} else if st == "failed" || st == "rejected" {
				return false, fmt.Errorf("endpoint %s is %s", id, st)
			}
		}
		return len(reached) == len(ids), nil
	})
	if err != nil {
		return reached, fmt.Errorf("waiting for %d endpoints to be %s (%d are): %w", len(ids), state, len(reached), err)
	}
	return reached, nil
}

// chunks yields consecutive slices of at most n elements.
func chunks(xs []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(xs) > 0 {
			k := min(n, len(xs))
			if !yield(xs[:k]) {
				return
			}
			xs = xs[k:]
		}
	}
}

// poll calls cond every interval until it reports done, fails, or timeout passes.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
