package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
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

// BenchmarkEndpointAvailable measures what bench figure 5 measures, in process:
// interface endpoints created one at a time in one consumer subnet, each timed
// from the CreateVpcEndpoint call to "available" in DescribeVpcEndpoints (polled
// every millisecond) and to a byte answered through it from the consumer's
// instance. One op is one endpoint; the endpoints accumulate, so run it with a
// fixed count to compare runs (root only):
//
//	go test ./internal/reconcile -run '^$' -bench EndpointAvailable -benchtime 50x
//
// Besides ns/op (create → first byte) it reports the median, first and last
// time to available, and it logs where the time of the first and last endpoint
// went: the API call, then the reconcile passes (snapshot, desired state, agent
// apply and its steps, settle) from the debug log until the state flipped.
func BenchmarkEndpointAvailable(b *testing.B) {
	rec := &passRecorder{}
	env := testenv.StartNetns(b, server.Config{Logger: slog.New(rec)})
	topo := newBenchTopology(b, env)
	ctx := context.Background()

	var avail, api []time.Duration
	var timings []endpointTiming
	b.ResetTimer()
	for range b.N {
		t := topo.timeEndpoint(ctx)
		avail = append(avail, t.available)
		api = append(api, t.api)
		timings = append(timings, t)
	}
	b.StopTimer()

	b.ReportMetric(msOf(median(avail)), "avail-p50-ms")
	b.ReportMetric(msOf(avail[0]), "avail-first-ms")
	b.ReportMetric(msOf(avail[len(avail)-1]), "avail-last-ms")
	b.ReportMetric(msOf(median(api)), "api-p50-ms")
	for _, i := range []int{0, len(timings) - 1} {
		t := timings[i]
		b.Logf("endpoint %d: api %.1f ms, available %.1f ms, first byte %.1f ms", i+1, msOf(t.api), msOf(t.available), msOf(t.firstByte))
		for _, p := range rec.between(t.start, t.start.Add(t.available)) {
			b.Logf("  %s", p)
		}
	}
}

// BenchmarkEndpointsAtScale measures what bench figure 7 measures: one op is an
// endpoint to the one service, created by 8 concurrent API clients; it reports
// the time from the first call until DescribeVpcEndpoints shows them all
// available, then the time one more endpoint, created alone, takes to become
// available with all the others in place, and the reconcile passes of the run:
//
//	go test ./internal/reconcile -run '^$' -bench EndpointsAtScale -benchtime 1000x
func BenchmarkEndpointsAtScale(b *testing.B) {
	rec := &passRecorder{}
	env := testenv.StartNetns(b, server.Config{Logger: slog.New(rec)})
	topo := newBenchTopology(b, env)
	ctx := context.Background()
	ids := make([]string, b.N)
	next := make(chan int)
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				ids[i] = *topo.createEndpoint(ctx, topo.cscale).VpcEndpoint.VpcEndpointId
			}
		})
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	calls := time.Since(t0)
	for {
		n := 0
		for c := range slices.Chunk(ids, 200) {
			d, err := topo.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: c})
			must(b, err)
			for _, ep := range d.VpcEndpoints {
				if strings.EqualFold(string(ep.State), "available") {
					n++
				}
			}
		}
		if n == len(ids) {
			break
		}
		if time.Since(t0) > 15*time.Minute {
			b.Fatalf("%d of %d endpoints available after 15 minutes", n, len(ids))
		}
		time.Sleep(10 * time.Millisecond)
	}
	all := time.Since(t0)
	b.StopTimer()
	passes, busy := rec.passes(t0, t0.Add(all))
	one := topo.timeEndpoint(ctx)
	var describes []time.Duration
	for range 20 {
		t := time.Now()
		_, err := topo.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: ids[:1]})
		must(b, err)
		describes = append(describes, time.Since(t))
	}
	b.ReportMetric(msOf(median(describes)), "describe-one-ms")
	b.ReportMetric(calls.Seconds(), "create-calls-s")
	b.ReportMetric(all.Seconds(), "all-available-s")
	b.ReportMetric(float64(passes), "passes")
	b.ReportMetric(busy.Seconds(), "reconcile-busy-s")
	b.ReportMetric(msOf(one.available), "one-more-avail-ms")
	b.Logf("%d endpoints: calls %.1f s, all available %.1f s, %d passes (%.1f s); one more: api %.1f ms, available %.1f ms, first byte %.1f ms",
		b.N, calls.Seconds(), all.Seconds(), passes, busy.Seconds(), msOf(one.api), msOf(one.available), msOf(one.firstByte))
	for _, p := range rec.between(one.start, one.start.Add(one.available)) {
		b.Logf("  %s", p)
	}
	if testing.Verbose() {
		for _, p := range rec.between(t0, t0.Add(all)) {
			b.Logf("  during: %s", p)
		}
	}
}

// endpointTiming is one endpoint's life as the benchmark saw it.
type endpointTiming struct {
	start                     time.Time
	api, available, firstByte time.Duration
}

// benchTopology is bench/'s topology reduced to what figure 5 uses: a provider
// VPC with a target instance behind an NLB with three listeners, an endpoint
// service, and a consumer VPC with a client instance, one endpoint in its /24 and
// a /20 subnet for the timed endpoints.
type benchTopology struct {
	b       *testing.B
	cec2    *ec2.Client
	cvpc    string
	cscale  string
	svcName string
	client  string
}

const benchPort = 7000

func newBenchTopology(b *testing.B, env *testenv.Env) *benchTopology {
	b.Helper()
	ctx := testenv.Ctx(b)
	pec2, elb := env.EC2(provider), env.ELB(provider)
	t := &benchTopology{b: b, cec2: env.EC2(consumer)}
	vpc, subnets := env.Network(provider, "us-east-1a", "us-east-1b")
	sgs, err := pec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	must(b, err)
	_, err = pec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sgs.SecurityGroups[0].GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(benchPort), ToPort: aws.Int32(benchPort + 2), CidrIp: aws.String("10.0.0.0/16")})
	must(b, err)
	target := t.instance(pec2, subnets[1])
	for port := benchPort; port <= benchPort+2; port++ {
		ln := testenv.ListenIn(b, target, fmt.Sprintf(":%d", port))
		go answerOneByte(ln)
	}
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("bench"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: subnets})
	must(b, err)
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	for port := int32(benchPort); port <= benchPort+2; port++ {
		tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(fmt.Sprintf("bench-%d", port)), Protocol: elbtypes.ProtocolEnumTcp,
			Port: aws.Int32(port), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumInstance,
			HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
		must(b, err)
		arn := tg.TargetGroups[0].TargetGroupArn
		_, err = elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: arn, Targets: []elbtypes.TargetDescription{{Id: aws.String(target)}}})
		must(b, err)
		_, err = elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumTcp,
			Port: aws.Int32(port), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: arn}}})
		must(b, err)
	}
	svc, err := pec2.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{*lbARN}, AcceptanceRequired: aws.Bool(false)})
	must(b, err)
	t.svcName = *svc.ServiceConfiguration.ServiceName
	_, err = pec2.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{ServiceId: svc.ServiceConfiguration.ServiceId,
		AddAllowedPrincipals: []string{"arn:aws:iam::" + consumer + ":root"}})
	must(b, err)

	v, err := t.cec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(b, err)
	t.cvpc = *v.Vpc.VpcId
	csub := t.subnet("10.0.1.0/24")
	t.cscale = t.subnet("10.0.16.0/20")
	t.client = t.instance(t.cec2, csub)
	first := t.createEndpoint(ctx, csub)
	t.waitAvailable(context.Background(), first)
	return t
}

func (t *benchTopology) subnet(cidr string) string {
	s, err := t.cec2.CreateSubnet(testenv.Ctx(t.b), &ec2.CreateSubnetInput{VpcId: aws.String(t.cvpc), CidrBlock: aws.String(cidr),
		AvailabilityZone: aws.String("us-east-1b")})
	must(t.b, err)
	return *s.Subnet.SubnetId
}

// instance runs an instance and waits until it is running.
func (t *benchTopology) instance(c *ec2.Client, subnet string) string {
	ctx := testenv.Ctx(t.b)
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0abcdef1234567890"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnet)})
	must(t.b, err)
	id := *out.Instances[0].InstanceId
	testenv.Eventually(t.b, time.Minute, "instance "+id+" running", func() error {
		d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if st := d.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameRunning {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	return id
}

func (t *benchTopology) createEndpoint(ctx context.Context, subnet string) *ec2.CreateVpcEndpointOutput {
	out, err := t.cec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(t.cvpc), SubnetIds: []string{subnet}, ServiceName: aws.String(t.svcName)})
	must(t.b, err)
	return out
}

// waitAvailable polls DescribeVpcEndpoints every millisecond until the endpoint
// is available.
func (t *benchTopology) waitAvailable(ctx context.Context, out *ec2.CreateVpcEndpointOutput) {
	id := *out.VpcEndpoint.VpcEndpointId
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := t.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
		must(t.b, err)
		if len(d.VpcEndpoints) == 1 && strings.EqualFold(string(d.VpcEndpoints[0].State), "available") {
			return
		}
		if time.Now().After(deadline) {
			t.b.Fatalf("endpoint %s not available after a minute", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// timeEndpoint creates one endpoint in the /20 and times it as figure 5 does.
func (t *benchTopology) timeEndpoint(ctx context.Context) endpointTiming {
	var et endpointTiming
	et.start = time.Now()
	out := t.createEndpoint(ctx, t.cscale)
	et.api = time.Since(et.start)
	t.waitAvailable(ctx, out)
	et.available = time.Since(et.start)
	enis, err := t.cec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: out.VpcEndpoint.NetworkInterfaceIds})
	must(t.b, err)
	addr := fmt.Sprintf("%s:%d", *enis.NetworkInterfaces[0].PrivateIpAddress, benchPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := t.oneByte(addr)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.b.Fatalf("endpoint %s available but no byte through it after 10 s: %v", *out.VpcEndpoint.VpcEndpointId, err)
		}
		time.Sleep(time.Millisecond)
	}
	et.firstByte = time.Since(et.start)
	return et
}

// oneByte sends a byte to addr from the client instance and reads one back.
func (t *benchTopology) oneByte(addr string) error {
	c, err := testenv.DialFrom(t.b, t.client, addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{'C'}); err != nil {
		return err
	}
	var buf [1]byte
	_, err = c.Read(buf[:])
	return err
}

// answerOneByte answers each connection's first byte with itself and closes.
func answerOneByte(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var buf [1]byte
			if _, err := c.Read(buf[:]); err == nil {
				c.Write(buf[:])
			}
		}()
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// passRecorder is a slog handler that keeps the debug lines of reconcile passes
// and agent applies ("reconcile pass", "agent apply") with their time.
type passRecorder struct {
	mu    sync.Mutex
	lines []recordedLine
}

type recordedLine struct {
	at    time.Time
	text  string
	total time.Duration // of a reconcile pass
}

func (p *passRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (p *passRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "reconcile pass" && r.Message != "agent apply" {
		return nil
	}
	text := r.Message
	var total time.Duration
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "start" {
			text += " " + a.String()
		}
		if a.Key == "total_ms" && r.Message == "reconcile pass" {
			total = time.Duration(a.Value.Float64() * float64(time.Millisecond))
		}
		return true
	})
	p.mu.Lock()
	p.lines = append(p.lines, recordedLine{at: r.Time, text: fmt.Sprintf("%s %s", r.Time.Format("15:04:05.000"), text), total: total})
	p.mu.Unlock()
	return nil
}

func (p *passRecorder) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *passRecorder) WithGroup(string) slog.Handler      { return p }

// between returns the lines logged from from until a little after to (the pass
// that settled an endpoint ends just before the client sees it).
func (p *passRecorder) between(from, to time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if !l.at.Before(from) && !l.at.After(to.Add(5*time.Millisecond)) {
			out = append(out, l.text)
		}
	}
	return out
}

// passes counts the reconcile passes that ended between from and to, and their
// total duration.
func (p *passRecorder) passes(from, to time.Time) (n int, busy time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if l.total > 0 && !l.at.Before(from) && !l.at.After(to) {
			n++
			busy += l.total
		}
	}
	return n, busy
}
