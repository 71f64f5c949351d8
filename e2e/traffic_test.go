package e2e_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	proxyproto "github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestAcceptanceRequired: the endpoint is unusable while pendingAcceptance and
// carries traffic once the provider accepts it by endpoint ID (guide 000's flow).
func TestAcceptanceRequired(t *testing.T) { onBothPaths(t, testAcceptanceRequired) }

func testAcceptanceRequired(t *testing.T, cfg server.Config) {
	env := testenv.StartNetns(t, cfg)
	l := newLink(t, env)
	_, err := l.pec2.ModifyVpcEndpointServiceConfiguration(l.ctx, &ec2.ModifyVpcEndpointServiceConfigurationInput{ServiceId: aws.String(l.svc), AcceptanceRequired: aws.Bool(true)})
	check(t, err)
	l.target(l.subnets[0], "db", nil)
	client, _ := l.instance(l.cec2, l.csubnet)

	out, err := l.cec2.CreateVpcEndpoint(l.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcId: aws.String(l.cvpc),
		SubnetIds: []string{l.csubnet}, ServiceName: aws.String("com.amazonaws.vpce.us-east-1." + l.svc)})
	check(t, err)
	l.endpoint = *out.VpcEndpoint.VpcEndpointId
	enis, err := l.cec2.DescribeNetworkInterfaces(l.ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: out.VpcEndpoint.NetworkInterfaceIds})
	check(t, err)
	l.endpointIP = *enis.NetworkInterfaces[0].PrivateIpAddress
	l.waitEndpoint("pendingAcceptance")
	if got, err := ask(t, client, l.addr(), "hello"); err == nil {
		t.Fatalf("a pendingAcceptance endpoint carried traffic: %q", got)
	}

	_, err = l.pec2.AcceptVpcEndpointConnections(l.ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: aws.String(l.svc), VpcEndpointIds: []string{l.endpoint}})
	check(t, err)
	l.waitEndpoint("available")
	if got, err := ask(t, client, l.addr(), "hello"); err != nil || got != "db hello" {
		t.Fatalf("after acceptance: %q, %v", got, err)
	}
}

// TestProxyProtocolV2: with proxy_protocol_v2.enabled the target reads a PROXY v2
// header with the consumer instance's address, the endpoint's address and the
// endpoint ID in the AWS TLV.
func TestProxyProtocolV2(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{})
	l := newLink(t, env)
	headers := make(chan *proxyproto.Header, 1)
	l.target(l.subnets[0], "db", func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		h, err := proxyproto.Read(r)
		if err != nil {
			return // a TCP health check connects and closes without a byte
		}
		headers <- h
		line, _ := r.ReadString('\n')
		io.WriteString(c, "db "+line)
	})
	_, err := l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(l.tg),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")}}})
	check(t, err)
	client, clientIP := l.instance(l.cec2, l.csubnet)
	l.connect()

	if got, err := ask(t, client, l.addr(), "hi"); err != nil || got != "db hi" {
		t.Fatalf("through the endpoint: %q, %v", got, err)
	}
	var h *proxyproto.Header
	select {
	case h = <-headers:
	case <-time.After(5 * time.Second):
		t.Fatal("the target read no PROXY v2 header")
	}
	if src := h.SourceAddr.(*net.TCPAddr); src.IP.String() != clientIP {
		t.Errorf("PROXY source %s, want the consumer instance %s", src, clientIP)
	}
	if dst := h.DestinationAddr.(*net.TCPAddr); dst.String() != l.addr() {
		t.Errorf("PROXY destination %s, want the endpoint %s", dst, l.addr())
	}
	tlvs, err := h.TLVs()
	check(t, err)
	if id := tlvparse.FindAWSVPCEndpointID(tlvs); id != l.endpoint {
		t.Errorf("endpoint ID in the AWS TLV: %q, want %s", id, l.endpoint)
	}
}

// TestSecurityGroups: the endpoint's group admits only members of a client group:
// a consumer instance in it connects, one outside it times out (dropped, not refused).
func TestSecurityGroups(t *testing.T) { onBothPaths(t, testSecurityGroups) }

func testSecurityGroups(t *testing.T, cfg server.Config) {
	env := testenv.StartNetns(t, cfg)
	l := newLink(t, env)
	l.target(l.subnets[0], "db", nil)
	sg := func(name string) string {
		out, err := l.cec2.CreateSecurityGroup(l.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(l.cvpc)})
		check(t, err)
		return *out.GroupId
	}
	clients, endpoint := sg("clients"), sg("endpoint")
	_, err := l.cec2.AuthorizeSecurityGroupIngress(l.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(endpoint),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(servicePort), ToPort: aws.Int32(servicePort),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(clients)}}}}})
	check(t, err)
	inside, _ := l.instance(l.cec2, l.csubnet, clients)
	outside, _ := l.instance(l.cec2, l.csubnet)
	l.connect(endpoint)

	if got, err := ask(t, inside, l.addr(), "in"); err != nil || got != "db in" {
		t.Fatalf("instance in the client group: %q, %v", got, err)
	}
	start := time.Now()
	_, err = testenv.DialFrom(t, outside, l.addr(), 2*time.Second)
	var ne net.Error
	if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("instance outside the client group: %v after %s, want a timeout", err, time.Since(start))
	}
}

// TestFailoverAndDraining: two targets; deregistering one drains it (its open
// connection keeps working for the delay, then is closed; new connections go to
// the other); killing one turns it unhealthy within interval × threshold and no
// new client connection fails meanwhile.
func TestFailoverAndDraining(t *testing.T) { onBothPaths(t, testFailoverAndDraining) }

func testFailoverAndDraining(t *testing.T, cfg server.Config) {
	env := testenv.StartNetns(t, cfg)
	l := newLink(t, env)
	_, err := l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(l.tg),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3")}}})
	check(t, err)
	ids := map[string]string{}
	lns := map[string]net.Listener{}
	for _, name := range []string{"t1", "t2"} {
		ids[name], lns[name] = l.target(l.subnets[0], name, nil)
	}
	client, _ := l.instance(l.cec2, l.csubnet)
	l.connect()
	l.waitHealth(elbtypes.TargetHealthStateEnumHealthy, 30*time.Second)

	// Draining: find which target an open connection reached, deregister it.
	conn, err := testenv.DialFrom(t, client, l.addr(), 3*time.Second)
	check(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	talk := func(line string) (string, error) {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, line+"\n"); err != nil {
			return "", err
		}
		s, err := r.ReadString('\n')
		return strings.TrimSpace(s), err
	}
	got, err := talk("first")
	check(t, err)
	drained, other := strings.Fields(got)[0], "t1"
	if drained == "t1" {
		other = "t2"
	}
	_, err = l.elb.DeregisterTargets(l.ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(l.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(ids[drained])}}})
	check(t, err)
	deregistered := time.Now()
	if got, err := talk("during"); err != nil || got != drained+" during" {
		t.Errorf("the draining target's connection during the delay: %q, %v", got, err)
	}
	// The data plane applies the deregistration on its next pass (milliseconds; on
	// AWS, seconds) and then reports the target draining in /metrics: from then on,
	// new connections avoid it. (Asking until one connection avoids it would not do:
	// the flow hash sends half the connections to the other target anyway.)
	testenv.Eventually(t, 2*time.Minute, "the data plane to drain "+drained, func() error {
		if !dataplaneTargetState(t, env, ids[drained], "draining") {
			return fmt.Errorf("/metrics does not show %s draining", ids[drained])
		}
		return nil
	})
	for i := 0; i < 5; i++ {
		if got, err := ask(t, client, l.addr(), "new"); err != nil || got != other+" new" {
			t.Errorf("new connection while %s drains: %q, %v", drained, got, err)
		}
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Errorf("the drained connection got data instead of being closed")
	}
	if d := time.Since(deregistered); d < 3*time.Second {
		t.Errorf("the drained connection was closed after %s, before the 3 s deregistration delay", d)
	}

	// Failover: register the drained target again, then kill the other one while a
	// client keeps opening connections.
	_, err = l.elb.RegisterTargets(l.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(l.tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(ids[drained])}}})
	check(t, err)
	l.waitHealth(elbtypes.TargetHealthStateEnumHealthy, 30*time.Second)
	// A connection already under way when the target dies may be reset with it
	// (its first bytes may have gone there; on AWS too). The relay retries
	// another target when a dial fails before the first byte, so no connection
	// started after the kill fails; the kernel path, like AWS's NLB, sends new
	// connections to the dead target until its health checks fail, so only
	// those started after it shows unhealthy must all succeed.
	var afterKill, afterUnhealthy, inFlight, total atomic.Int64
	var killedAt, unhealthyAt atomic.Int64 // UnixNano; 0 before
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			total.Add(1)
			killed, unhealthy := killedAt.Load() != 0, unhealthyAt.Load() != 0
			if got, err := ask(t, client, l.addr(), "x"); err != nil || !strings.HasSuffix(got, " x") {
				switch {
				case unhealthy:
					afterUnhealthy.Add(1)
				case killed:
					afterKill.Add(1)
				default:
					inFlight.Add(1)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	lns[other].Close()
	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	testenv.Eventually(t, 2*time.Minute, other+" unhealthy", func() error {
		h, err := l.elb.DescribeTargetHealth(l.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(l.tg),
			Targets: []elbtypes.TargetDescription{{Id: aws.String(ids[other])}}})
		if err != nil {
			return err
		}
		if st := h.TargetHealthDescriptions[0].TargetHealth.State; st != elbtypes.TargetHealthStateEnumUnhealthy {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	took := time.Since(killed)
	unhealthyAt.Store(time.Now().UnixNano())
	// Keep connecting until 20 connections started after the target showed
	// unhealthy.
	before := total.Load()
	testenv.Eventually(t, time.Minute, "connections after unhealthy", func() error {
		if n := total.Load() - before; n < 20 {
			return fmt.Errorf("%d connections", n)
		}
		return nil
	})
	close(stop)
	<-done
	t.Logf("%s path: killed target unhealthy after %s; %d client connections, failed: %d under way at the kill, %d started after the kill and before unhealthy, %d started after unhealthy",
		cfg.Forwarding, took.Round(time.Millisecond), total.Load(), inFlight.Load(), afterKill.Load(), afterUnhealthy.Load())
	if inFlight.Load() > 1 {
		t.Errorf("%d connections under way at the kill failed; the client has at most one open", inFlight.Load())
	}
	if took > 10*time.Second+3*time.Second {
		t.Errorf("unhealthy after %s, want within interval × threshold (10 s) plus one check", took)
	}
	if afterUnhealthy.Load() != 0 {
		t.Errorf("%d client connections started after the target showed unhealthy failed", afterUnhealthy.Load())
	}
	if cfg.Forwarding == "relay" && afterKill.Load() != 0 {
		t.Errorf("relay: %d client connections started after the kill failed (the relay retries another target)", afterKill.Load())
	}
}

// TestRestartKeepsTraffic: a restarted server re-adopts the namespaces (a target
// listening inside an instance keeps its socket) and the endpoint carries traffic
// again; the endpoint's traffic shows in /metrics.
func TestRestartKeepsTraffic(t *testing.T) { onBothPaths(t, testRestartKeepsTraffic) }

func testRestartKeepsTraffic(t *testing.T, cfg server.Config) {
	dir := t.TempDir()
	env := testenv.StartNetns(t, withDir(cfg, dir))
	l := newLink(t, env)
	l.target(l.subnets[0], "db", nil)
	client, _ := l.instance(l.cec2, l.csubnet)
	l.connect()
	if got, err := ask(t, client, l.addr(), "before"); err != nil || got != "db before" {
		t.Fatalf("before the restart: %q, %v", got, err)
	}
	metrics := func() string {
		resp, err := http.Get(env.Server.URL() + "/metrics")
		check(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := metrics(); !strings.Contains(m, `strait_privatelink_endpoint_new_connections_total{`) || !strings.Contains(m, l.endpoint) {
		t.Errorf("/metrics has no connection count for %s", l.endpoint)
	}

	env.Stop()
	testenv.StartConfig(t, server.Config{DataDir: dir, Dataplane: "netns", Dev: true, Forwarding: cfg.Forwarding})
	testenv.Eventually(t, 2*time.Minute, "traffic after the restart", func() error {
		got, err := ask(t, client, l.addr(), "after")
		if err == nil && got != "db after" {
			err = fmt.Errorf("answer %q", got)
		}
		return err
	})
}

// dataplaneTargetState reports whether the data plane's own view of a target
// (strait_target_health in /metrics, labelled "<target id>:<port>") is state.
func dataplaneTargetState(t *testing.T, env *testenv.Env, target, state string) bool {
	t.Helper()
	resp, err := http.Get(env.Server.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "strait_target_health{") && strings.Contains(line, `state="`+state+`"`) &&
			strings.Contains(line, `target="`+target+`:`) && strings.HasSuffix(line, " 1") {
			return true
		}
	}
	return false
}
