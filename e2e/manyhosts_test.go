package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	proxyproto "github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
	"strait/internal/model"
	"strait/internal/nativeapi"
	"strait/internal/testenv"
)

// fleetHost is a machine of the datacenter running `strait agent` for a zone.
type fleetHost struct {
	t       *testing.T // the test that owns the host's agents (not a subtest: its end would stop them)
	machine *testenv.Machine
	zone    string
	dir     string
	agent   *testenv.AgentProcess
}

// start runs the host's agent (enrolling with token when it is not "") until
// h.t ends.
func (h *fleetHost) start(env *testenv.Env, token string, extra ...string) {
	h.t.Helper()
	args := append([]string{"--zones", h.zone, "--data-dir", h.dir}, extra...)
	if token != "" {
		args = append(args, "--token", token)
	}
	h.agent = env.Proc.StartAgentIn(h.t, h.machine.Netns, args...)
}

// readmeJoin is how the README's "Many hosts" joins a host: the arguments of
// its `strait host token create` and of its `strait agent` less --server URL
// (the test's server is elsewhere), TOKEN standing for the token. It checks
// that the server command has an agent listener and the agent serves
// us-east-1b, as host 2 does here.
func readmeJoin(t *testing.T) (token, agent []string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	check(t, err)
	_, sec, ok := strings.Cut(string(b), "\n## Many hosts\n")
	if !ok {
		t.Fatal("README has no section \"## Many hosts\"")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var server []string
	for _, line := range strings.Split(sec, "\n") {
		cmd, _, _ := strings.Cut(strings.TrimPrefix(line, "    "), "#")
		f := strings.Fields(cmd)
		if !strings.HasPrefix(line, "    ") || len(f) < 2 || f[0] != "strait" {
			continue
		}
		switch {
		case f[1] == "server" && server == nil:
			server = f[2:]
		case f[1] == "host" && len(f) > 3 && f[2] == "token" && f[3] == "create" && token == nil:
			token = f[1:]
		case f[1] == "agent" && agent == nil:
			for i := 2; i < len(f); i++ {
				if f[i] == "--server" {
					i++
					continue
				}
				agent = append(agent, f[i])
			}
		}
	}
	if !slices.Contains(server, "--agent-listen") || token == nil || !slices.Equal(agent, []string{"--token", "TOKEN", "--zones", "us-east-1b"}) {
		t.Fatalf("README's Many hosts: server %q, token %q, agent %q; want --agent-listen, token create, --token TOKEN --zones us-east-1b", server, token, agent)
	}
	return token, agent
}

// waitHosts waits until the server lists n hosts and ok accepts each.
func (c hostCLI) waitHosts(what string, n int, ok func(nativeapi.Host) bool) []nativeapi.Host {
	c.t.Helper()
	var l []nativeapi.Host
	testenv.Eventually(c.t, 2*time.Minute, what, func() error {
		l = c.list()
		if len(l) != n {
			return fmt.Errorf("hosts: %+v", l)
		}
		for _, h := range l {
			if !ok(h) {
				return fmt.Errorf("host %+v", h)
			}
		}
		return nil
	})
	return l
}

// udpBetween counts the captured IPv4 UDP frames from one address to another.
func udpBetween(c *testenv.Capture, from, to netip.Addr) int {
	return c.Count(func(f []byte) bool {
		if len(f) < 34 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 || f[23] != 17 {
			return false
		}
		src, _ := netip.AddrFromSlice(f[26:30])
		dst, _ := netip.AddrFromSlice(f[30:34])
		return src == from && dst == to
	})
}

// TestGuide004AcrossHosts runs guide 004 across hosts: a `strait server`
// process in a machine of its own and two `strait agent` processes, each in
// its own machine (network namespace) on a datacenter bridge, host 1 serving
// us-east-1a and host 2 us-east-1b. The provider's VPC 10.0.0.0/16 has subnets
// in both zones, an NLB with a node in each (cross-zone load balancing on) and
// its MariaDB target in us-east-1b (host 2); the consumer's VPC has the same
// CIDR and its endpoint in us-east-1a (host 1). It checks that:
//   - `strait exec` runs mysql in the consumer's instance through the
//     endpoint's DNS name (consumer VPC on host 1 → node a on host 1 → the
//     target on host 2), and the row lands in the database;
//   - an instance in provider subnet a (host 1) reaches one in subnet b (host
//     2), while the consumer's instance does not reach that address (same
//     CIDR, VPCs apart across hosts);
//   - moved to a second NLB whose only node is in us-east-1b (host 2), the
//     endpoint (us-east-1a, host 1) reaches that node across the backbone's
//     transit link: mysql and a line server answer, and the kernel path's
//     counters of the endpoint's ENI on host 1 count the flows. From here on
//     the endpoint's flows cross the backbone before the node;
//   - a listener of that NLB to a target group with proxy_protocol_v2.enabled
//     (target on host 2) is carried by the relays of both hosts: the
//     target's PROXY v2 header says the consumer's instance, the endpoint's
//     ENI and port and the endpoint ID; mysql works through both relays
//     (strait.relay.enabled on its group); an instance of the provider's VPC on
//     host 2 that connects to the node's transit address with a header of
//     its own is refused (host 2's relay listens there for the transit link
//     only);
//   - a capture on the underlay sees UDP between the hosts while lines with a
//     marker cross, and no frame with the marker;
//   - kill -9 host 2's agent: connections through the endpoint (established
//     and new) fail (with wireguard-go; the kernel's WireGuard, which outlives
//     the agent, carries them on), while a connection between two instances on host 1 goes
//     on; restarted, traffic through the endpoint returns, and host 2 has the
//     same namespaces and links as before the kill;
//   - with `--backbone plain` the marker does show on the underlay (the
//     capture's positive control);
//   - stopped, `strait down --data-dir` on each machine leaves none of their
//     namespaces and /etc/netns entries, and the hosts only their eth0 and lo.
func TestGuide004AcrossHosts(t *testing.T) {
	dc := testenv.NewDatacenter(t)
	env, srv := dc.StartServer(t, testenv.ProcessConfig{Dataplane: "netns"})
	cli := hostCLI{t: t, env: env}
	hosts := []*fleetHost{
		{t: t, machine: dc.Machine(t, "h1"), zone: "us-east-1a", dir: filepath.Join(t.TempDir(), "h1")},
		{t: t, machine: dc.Machine(t, "h2"), zone: "us-east-1b", dir: filepath.Join(t.TempDir(), "h2")},
	}
	// Host 2 joins with the README's commands (its zone is the README's).
	tokenArgs, agentArgs := readmeJoin(t)
	hosts[0].start(env, cli.run(false, "host", "token", "create", "--ttl", "30m"))
	token := cli.run(false, tokenArgs...)
	for i, a := range agentArgs {
		if a == "TOKEN" {
			agentArgs[i] = token
		}
	}
	hosts[1].agent = env.Proc.StartAgentIn(t, hosts[1].machine.Netns, append(agentArgs, "--data-dir", hosts[1].dir)...)
	cli.waitHosts("both hosts ready on their underlay addresses", 2, func(h nativeapi.Host) bool {
		return h.State == "ready" && slices.ContainsFunc(hosts, func(f *fleetHost) bool {
			return slices.Equal(h.Zones, []string{f.zone}) && h.BackboneAddress == f.machine.Addr.String()
		})
	})
	h1, h2 := hosts[0], hosts[1]
	// The server's own data plane is the list's last row: the zones no host
	// serves, on the backbone at its agent listener's address.
	all := cli.listAll()
	if srvRow := all[len(all)-1]; !srvRow.Server || srvRow.HostID != "local" || srvRow.State != "ready" || srvRow.BackboneAddress != srv.Addr.String() ||
		!slices.Contains(srvRow.Zones, "us-east-1c") || slices.Contains(srvRow.Zones, h1.zone) || slices.Contains(srvRow.Zones, h2.zone) {
		t.Fatalf("the server's row in `strait host list`: %+v", all)
	}
	if table := cli.run(false, "host", "list"); !strings.Contains(table, "\nlocal ") {
		t.Fatalf("`strait host list` has no row for the server's data plane:\n%s", table)
	}

	// Guide 004: the provider's service (newLink: VPC 10.0.0.0/16 in a and b,
	// an NLB with nodes in both, the endpoint service; the consumer's VPC
	// 10.0.0.0/16 in a), cross-zone on, MariaDB on 3306 in b.
	l := newLink(t, env)
	_, err := l.elb.ModifyLoadBalancerAttributes(l.ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(l.lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("true")}}})
	check(t, err)
	sgs, err := l.pec2.DescribeSecurityGroups(l.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{l.vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	check(t, err)
	_, err = l.pec2.AuthorizeSecurityGroupIngress(l.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sgs.SecurityGroups[0].GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3306), ToPort: aws.Int32(3306), CidrIp: aws.String("10.0.0.0/16")})
	check(t, err)
	db, dbIP := l.instance(l.pec2, l.subnets[1])
	maria := testenv.StartMariaDB(t, db)
	maria.Query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(64));" +
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'; GRANT ALL ON shop.* TO 'app'@'%'")
	tg, err := l.elb.CreateTargetGroup(l.ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("mysql"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), VpcId: aws.String(l.vpc), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	check(t, err)
	_, err = l.elb.RegisterTargets(l.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn,
		Targets: []elbtypes.TargetDescription{{Id: aws.String(dbIP)}}})
	check(t, err)
	_, err = l.elb.CreateListener(l.ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(l.lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(3306), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}})
	check(t, err)
	// A line server in b (host 2) behind port 7000, two instances in a (host 1).
	lineB, _ := l.target(l.subnets[1], "b", nil)
	lineBIP := instanceIP(t, l.pec2, lineB)
	pa, _ := l.instance(l.pec2, l.subnets[0])
	pa2, pa2IP := l.instance(l.pec2, l.subnets[0])
	ln := testenv.ListenIn(t, pa2, fmt.Sprintf(":%d", servicePort))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go lineServer(c, "a")
		}
	}()
	// A subnet in us-east-1c, which no agent serves: the server's own data
	// plane has it, and joins the backbone on its agent listener's address.
	sc, err := l.pec2.CreateSubnet(l.ctx, &ec2.CreateSubnetInput{VpcId: aws.String(l.vpc), CidrBlock: aws.String("10.0.3.0/24"),
		AvailabilityZone: aws.String("us-east-1c")})
	check(t, err)
	pc, pcIP := l.instance(l.pec2, *sc.Subnet.SubnetId)
	lnC := testenv.ListenIn(t, pc, fmt.Sprintf(":%d", servicePort))
	go func() {
		for {
			c, err := lnC.Accept()
			if err != nil {
				return
			}
			go lineServer(c, "c")
		}
	}()
	client, _ := l.instance(l.cec2, l.csubnet)
	l.connect()
	d, err := l.cec2.DescribeVpcEndpoints(l.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{l.endpoint}})
	check(t, err)
	dnsName := *d.VpcEndpoints[0].DnsEntries[0].DnsName

	// Where things are: the targets on host 2, the consumer's instance and
	// provider a's on host 1.
	for id, h := range map[string]*fleetHost{db: h2, lineB: h2, pa: h1, client: h1} {
		if name, err := netns.InstanceNamespace(id); err != nil || !strings.HasPrefix(name, "strait-"+netns.TagFor(h.dir)+"-") {
			t.Fatalf("instance %s is in namespace %q (%v), want host %s's", id, name, err, h.machine.Netns)
		}
	}
	if name, err := netns.InstanceNamespace(pc); err != nil || !strings.HasPrefix(name, "strait-"+netns.TagFor(env.DataDir)+"-") {
		t.Fatalf("instance %s (us-east-1c) is in namespace %q (%v), want the server's", pc, name, err)
	}

	mysql := func(timeout int, sql string) (string, error) {
		out, err := exec.Command(env.Proc.Bin, "exec", client, "--", "mysql", "--no-defaults", "-h", dnsName, "-u", "app", "-papp-secret",
			fmt.Sprintf("--connect-timeout=%d", timeout), "-N", "-B", "-e", sql).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("strait exec %s -- mysql -h %s -e %q: %v\n%s", client, dnsName, sql, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	mysqlWorks := func(t *testing.T, what string) {
		t.Helper()
		testenv.Eventually(t, 2*time.Minute, what, func() error {
			got, err := mysql(5, "SELECT 1")
			if err == nil && got != "1" {
				err = fmt.Errorf("SELECT 1 printed %q", got)
			}
			return err
		})
	}
	viaEndpoint := func(line string) error {
		got, err := ask(t, client, l.addr(), line)
		if err == nil && got != "b "+line {
			err = fmt.Errorf("answer %q", got)
		}
		return err
	}

	t.Run("mysql through the endpoint to host 2", func(t *testing.T) {
		mysqlWorks(t, "mysql through the endpoint's DNS name")
		if _, err := mysql(10, "INSERT INTO shop.orders VALUES (42, 'across hosts')"); err != nil {
			t.Fatal(err)
		}
		if got := maria.Query("SELECT item FROM shop.orders WHERE id = 42"); got != "across hosts" {
			t.Fatalf("row read directly on the server: %q", got)
		}
	})

	t.Run("mysql through the relay to host 2", func(t *testing.T) {
		relay := func(on string) {
			_, err := l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn,
				Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(model.RelayAttribute), Value: aws.String(on)}}})
			check(t, err)
		}
		relay("true")
		defer relay("false")
		// Host 1's relay listens on the endpoint's address, and dials the
		// target on host 2 from the node's namespace.
		ns := "strait-" + netns.TagFor(h1.dir) + "-" + l.cvpc
		addr := fmt.Sprintf("%s:3306", l.endpointIP)
		testenv.Eventually(t, 2*time.Minute, "the relay listening on "+addr, func() error {
			out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Htln").CombinedOutput()
			if err == nil && !strings.Contains(string(out), addr) {
				err = fmt.Errorf("not in ss -tln: %s", out)
			}
			return err
		})
		mysqlWorks(t, "mysql through the relay")
	})

	t.Run("one VPC across hosts and the server, VPCs apart", func(t *testing.T) {
		addr := fmt.Sprintf("%s:%d", lineBIP, servicePort)
		testenv.Eventually(t, time.Minute, "provider a (host 1) to provider b (host 2)", func() error {
			got, err := ask(t, pa, addr, "same vpc")
			if err == nil && got != "b same vpc" {
				err = fmt.Errorf("answer %q", got)
			}
			return err
		})
		// The server's zone and the hosts' zones of one VPC: c (the server) to
		// b (host 2), a (host 1) to c.
		for _, c := range []struct{ from, to, name string }{{pc, addr, "b"}, {pa, fmt.Sprintf("%s:%d", pcIP, servicePort), "c"}} {
			testenv.Eventually(t, time.Minute, c.from+" to "+c.to, func() error {
				got, err := ask(t, c.from, c.to, "server and host")
				if err == nil && got != c.name+" server and host" {
					err = fmt.Errorf("answer %q", got)
				}
				return err
			})
		}
		got, err := ask(t, client, addr, "other vpc")
		if err == nil {
			t.Fatalf("the consumer's instance reached the provider's %s (same CIDR): %q", addr, got)
		}
		t.Logf("the consumer's instance to the provider's %s: %v", addr, err)
	})

	var arnB, mysqlB string // the second NLB, whose only node is on host 2, and its MariaDB group
	t.Run("the endpoint's node on another host", func(t *testing.T) {
		// The service moves to a second NLB whose only node is in us-east-1b
		// (host 2): the endpoint's ENI in us-east-1a (host 1) has no node on
		// its host and reaches node b across the backbone's transit link.
		// Each host has a transit address of its own, which its flows to
		// other hosts' nodes leave from.
		seen := map[string]bool{}
		for _, h := range cli.list() {
			if a, err := netip.ParseAddr(h.TransitIP); err != nil || !netip.MustParsePrefix("169.254.0.0/24").Contains(a) || seen[h.TransitIP] {
				t.Fatalf("host %s has transit address %q, want its own in 169.254.0.0/24", h.HostID, h.TransitIP)
			}
			seen[h.TransitIP] = true
		}
		lbB, err := l.elb.CreateLoadBalancer(l.ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("e2e-b"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
			Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: l.subnets[1:2]})
		check(t, err)
		arnB = *lbB.LoadBalancers[0].LoadBalancerArn
		for _, f := range []struct {
			name   string
			port   int32
			target string
		}{{"mysql-b", 3306, dbIP}, {"line-b", servicePort, lineBIP}} {
			g, err := l.elb.CreateTargetGroup(l.ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(f.name), Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(f.port), VpcId: aws.String(l.vpc), TargetType: elbtypes.TargetTypeEnumIp,
				HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
			check(t, err)
			if f.name == "mysql-b" {
				mysqlB = *g.TargetGroups[0].TargetGroupArn
			}
			_, err = l.elb.RegisterTargets(l.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: g.TargetGroups[0].TargetGroupArn,
				Targets: []elbtypes.TargetDescription{{Id: aws.String(f.target)}}})
			check(t, err)
			_, err = l.elb.CreateListener(l.ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(arnB), Protocol: elbtypes.ProtocolEnumTcp,
				Port: aws.Int32(f.port), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: g.TargetGroups[0].TargetGroupArn}}})
			check(t, err)
		}
		_, err = l.pec2.ModifyVpcEndpointServiceConfiguration(l.ctx, &ec2.ModifyVpcEndpointServiceConfigurationInput{ServiceId: aws.String(l.svc),
			AddNetworkLoadBalancerArns: []string{arnB}, RemoveNetworkLoadBalancerArns: []string{l.lb}})
		check(t, err)
		// The first NLB goes, so that only node b can answer (its node a on
		// host 1 reached the same targets).
		_, err = l.elb.DeleteLoadBalancer(l.ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(l.lb)})
		check(t, err)
		testenv.Eventually(t, time.Minute, "the first NLB gone", func() error {
			if _, err := l.elb.DescribeLoadBalancers(l.ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{l.lb}}); err == nil {
				return fmt.Errorf("%s still described", l.lb)
			}
			return nil
		})
		mysqlWorks(t, "mysql through the endpoint to the NLB's only node, on host 2")
		testenv.Eventually(t, time.Minute, "lines through the endpoint to node b", func() error { return viaEndpoint("node b") })
		// The endpoint's ENI on host 1 counts its flows (what host 1's agent
		// reports as the endpoint's traffic).
		before := kernelCounters(t, h1.dir, l.cvpc, l.endpointIP)
		const conns = 5
		for i := range conns {
			if err := viaEndpoint(fmt.Sprintf("counted %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		after := kernelCounters(t, h1.dir, l.cvpc, l.endpointIP)
		if after.flows < before.flows+conns || after.in <= before.in || after.out <= before.out {
			t.Errorf("host 1's counters of the endpoint's ENI: %+v, before %+v; want %d more flows and bytes both ways", after, before, conns)
		}
	})

	t.Run("PROXY v2 through the relay to the node on host 2", func(t *testing.T) {
		// A target group with proxy_protocol_v2.enabled behind a listener of
		// the NLB whose only node is on host 2: host 1's relay accepts at the
		// endpoint's ENI and carries the connection to the node's transit
		// address with a PROXY v2 header of its own; host 2's relay reads it
		// there and writes the target's header from it, as on one host.
		if arnB == "" {
			t.Fatal("the second NLB was not created")
		}
		const ppPort = 7001
		pp, _ := l.target(l.subnets[1], "pp", func(c net.Conn) {
			defer c.Close()
			r := bufio.NewReader(c)
			h, err := proxyproto.Read(r)
			if err != nil {
				return // a health check connects and closes without a byte
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tlvs, _ := h.TLVs()
			fmt.Fprintf(c, "pp %s %s %s %s", h.SourceAddr, h.DestinationAddr, tlvparse.FindAWSVPCEndpointID(tlvs), line)
		})
		g, err := l.elb.CreateTargetGroup(l.ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("pp-b"), Protocol: elbtypes.ProtocolEnumTcp,
			Port: aws.Int32(servicePort), VpcId: aws.String(l.vpc), TargetType: elbtypes.TargetTypeEnumIp,
			HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
		check(t, err)
		tgPP := g.TargetGroups[0].TargetGroupArn
		_, err = l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tgPP,
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v2.enabled"), Value: aws.String("true")}}})
		check(t, err)
		_, err = l.elb.RegisterTargets(l.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tgPP,
			Targets: []elbtypes.TargetDescription{{Id: aws.String(instanceIP(t, l.pec2, pp))}}})
		check(t, err)
		_, err = l.elb.CreateListener(l.ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(arnB), Protocol: elbtypes.ProtocolEnumTcp,
			Port: aws.Int32(ppPort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgPP}}})
		check(t, err)

		clientIP := instanceIP(t, l.cec2, client)
		eni := fmt.Sprintf("%s:%d", l.endpointIP, ppPort)
		var got string
		testenv.Eventually(t, 2*time.Minute, "a line through the endpoint to the PROXY v2 target on host 2", func() error {
			got, err = ask(t, client, eni, "relayed")
			return err
		})
		t.Logf("the target answered %q", got)
		// "pp <client>:<port> <ENI>:7001 <endpoint ID> relayed"
		f := strings.Fields(got)
		if len(f) != 5 || f[0] != "pp" || !strings.HasPrefix(f[1], clientIP+":") || f[2] != eni || f[3] != l.endpoint || f[4] != "relayed" {
			t.Fatalf("the target answered %q; want its PROXY v2 header to say the consumer %s, the endpoint %s and the endpoint ID %s", got, clientIP, eni, l.endpoint)
		}

		// MariaDB, which speaks first, through both relays: its group asks
		// for the relay (no header to the target).
		relay := func(on string) {
			_, err := l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(mysqlB),
				Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(model.RelayAttribute), Value: aws.String(on)}}})
			check(t, err)
		}
		relay("true")
		ss := func() string {
			out, _ := exec.Command("ip", "netns", "exec", "strait-"+netns.TagFor(h1.dir)+"-"+l.cvpc, "ss", "-Htln").CombinedOutput()
			return string(out)
		}
		eni3306 := fmt.Sprintf("%s:3306", l.endpointIP)
		testenv.Eventually(t, time.Minute, "host 1's relay listening on "+eni3306, func() error {
			if out := ss(); !strings.Contains(out, eni3306) {
				return fmt.Errorf("not in ss -tln: %s", out)
			}
			return nil
		})
		mysqlWorks(t, "mysql through the relays of both hosts")
		relay("false")
		testenv.Eventually(t, time.Minute, "host 1's relay no longer listening on "+eni3306, func() error {
			if out := ss(); strings.Contains(out, eni3306) {
				return fmt.Errorf("still in ss -tln: %s", out)
			}
			return nil
		})

		// A header forged from inside the provider VPC: an instance on host 2
		// connects to the node's transit address and port itself. Host 2's
		// relay listens there for the transit link only, so the connection is
		// refused (or, were it taken, the target would have to see the
		// instance, not the forged client).
		provider := "strait-" + netns.TagFor(h2.dir) + "-" + l.vpc
		var node netip.Addr
		testenv.Eventually(t, time.Minute, "host 2's relay listening on node b's transit address", func() error {
			out, err := exec.Command("ip", "-n", provider, "-4", "-o", "addr", "show", "dev", "lo").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			node = netip.Addr{}
			for _, w := range strings.Fields(string(out)) {
				if p, err := netip.ParsePrefix(w); err == nil && model.TransitRange.Contains(p.Addr()) && !model.TransitFixed.Contains(p.Addr()) {
					node = p.Addr()
				}
			}
			if !node.IsValid() {
				return fmt.Errorf("no node transit address on lo in %s: %s", provider, out)
			}
			ss, _ := exec.Command("ip", "netns", "exec", provider, "ss", "-Htln").CombinedOutput()
			if !strings.Contains(string(ss), fmt.Sprintf("%s%%transit:%d", node, ppPort)) {
				return fmt.Errorf("no listener on %s%%transit:%d: %s", node, ppPort, ss)
			}
			return nil
		})
		forged := netip.MustParseAddrPort("10.9.9.9:4242")
		header, err := dataplane.AppendProxyHeaderV2(nil, forged, netip.MustParseAddrPort(eni), "vpce-forged")
		check(t, err)
		c, err := testenv.DialFrom(t, lineB, netip.AddrPortFrom(node, ppPort).String(), 5*time.Second)
		if err != nil {
			t.Logf("a provider instance on host 2 to node b's transit address %s:%d: %v (refused, as it should be)", node, ppPort, err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(append(header, "forged\n"...))
		answer, _ := bufio.NewReader(c).ReadString('\n')
		if strings.Contains(answer, forged.Addr().String()) || strings.Contains(answer, "vpce-forged") {
			t.Fatalf("the target trusted a PROXY v2 header forged from inside the provider VPC: %q", answer)
		}
		if answer != "" {
			t.Fatalf("a provider instance reached the target through node b's transit listener: %q", answer)
		}
	})

	t.Run("the backbone is encrypted", func(t *testing.T) {
		for _, h := range cli.list() {
			if h.BackboneMethod == "none" || h.BackboneMethod == "plain" {
				t.Fatalf("host %s has backbone method %q, want an encrypted one", h.HostID, h.BackboneMethod)
			}
			t.Logf("host %s: backbone %s", h.HostID, h.BackboneMethod)
		}
		capture := dc.Capture(t)
		b := make([]byte, 12)
		rand.Read(b)
		marker := "plaintext-marker-" + hex.EncodeToString(b)
		testenv.Eventually(t, time.Minute, "lines with the marker through the endpoint", func() error { return viaEndpoint(marker) })
		for range 20 {
			if err := viaEndpoint(marker); err != nil {
				t.Fatal(err)
			}
			if got, err := ask(t, pa, fmt.Sprintf("%s:%d", lineBIP, servicePort), marker); err != nil || got != "b "+marker {
				t.Fatalf("provider a to b: %q, %v", got, err)
			}
		}
		capture.Stop()
		a1, a2 := h1.machine.Addr, h2.machine.Addr
		if udpBetween(capture, a1, a2) == 0 || udpBetween(capture, a2, a1) == 0 {
			t.Fatalf("no UDP between the hosts on the underlay (%d frames captured): the capture saw no backbone traffic", capture.Frames())
		}
		if capture.Contains([]byte(marker)) {
			t.Fatalf("a frame on the underlay carries the marker in plaintext")
		}
		t.Logf("%d frames captured, %d UDP from host 1 to host 2, none with the marker", capture.Frames(), udpBetween(capture, a1, a2))
	})

	t.Run("host 2 killed and back", func(t *testing.T) {
		// Before: a connection through the endpoint, one inside host 1.
		inside, err := testenv.DialFrom(t, pa, fmt.Sprintf("%s:%d", pa2IP, servicePort), 5*time.Second)
		check(t, err)
		defer inside.Close()
		through, err := testenv.DialFrom(t, client, l.addr(), 5*time.Second)
		check(t, err)
		defer through.Close()
		for _, c := range []struct {
			conn net.Conn
			want string
		}{{inside, "a"}, {through, "b"}} {
			if got, err := lineOn(c.conn, "before"); err != nil || got != c.want+" before" {
				t.Fatalf("before the kill: %q, %v", got, err)
			}
		}

		tag2 := netns.TagFor(h2.dir)
		nsBefore, linksBefore := testenv.Namespaces(t, tag2), machineLinks(t, h2.machine)
		relay := relayPID(t, h2.dir)
		if relay == 0 {
			t.Fatal("host 2 runs no relay process")
		}
		h2.agent.Kill()
		if backbone.KernelWireGuard() {
			// --backbone auto is the kernel's WireGuard, which outlives the
			// agent as the kernel path and the relay process do: traffic
			// through the endpoint goes on. (Not run yet: the kernels this
			// runs on have no WireGuard.)
			if got, err := lineOn(through, "after the kill"); err != nil || got != "b after the kill" {
				t.Errorf("the connection through the endpoint after host 2's agent was killed, with the kernel's WireGuard: %q, %v", got, err)
			}
		} else {
			testenv.Eventually(t, time.Minute, "new connections through the endpoint to fail", func() error {
				if err := viaEndpoint("after the kill"); err == nil {
					return fmt.Errorf("a new connection through the endpoint still gets answers")
				}
				return nil
			})
			if got, err := lineOn(through, "after the kill"); err == nil {
				t.Errorf("the connection through the endpoint still answers after host 2's agent was killed: %q", got)
			}
			if _, err := mysql(3, "SELECT 1"); err == nil {
				t.Errorf("mysql through the endpoint works with host 2's agent killed")
			}
		}
		if got, err := lineOn(inside, "after the kill"); err != nil || got != "a after the kill" {
			t.Fatalf("the connection inside host 1 after host 2's agent was killed: %q, %v", got, err)
		}
		if got, err := ask(t, pa, fmt.Sprintf("%s:%d", pa2IP, servicePort), "new"); err != nil || got != "a new" {
			t.Fatalf("a new connection inside host 1: %q, %v", got, err)
		}

		h2.start(env, "")
		mysqlWorks(t, "mysql through the endpoint after host 2's agent restarted")
		testenv.Eventually(t, time.Minute, "lines through the endpoint after the restart", func() error { return viaEndpoint("back") })
		// Re-adopted: the same namespaces and the same links on the host, nothing left over.
		if after := testenv.Namespaces(t, tag2); !slices.Equal(after, nsBefore) {
			t.Errorf("host 2's namespaces: %v before the kill, %v after the restart", nsBefore, after)
		}
		if after := machineLinks(t, h2.machine); !slices.Equal(after, linksBefore) {
			t.Errorf("host 2's links: %v before the kill, %v after the restart", linksBefore, after)
		}
		if after := relayPID(t, h2.dir); after != relay {
			t.Errorf("host 2's relay process: %d before the kill, %d after the restart (want it adopted)", relay, after)
		}
	})

	t.Run("plain backbone shows the marker", func(t *testing.T) {
		// The capture's positive control: with --backbone plain (trusted
		// networks only) the same lines cross the underlay readable.
		for _, h := range hosts {
			h.agent.Stop()
			h.start(env, "", "--backbone", "plain")
		}
		cli.waitHosts("both hosts ready with the plain backbone", 2, func(h nativeapi.Host) bool {
			return h.State == "ready" && h.BackboneMethod == "plain"
		})
		capture := dc.Capture(t)
		marker := "plaintext-marker-plain-" + dc.Netns
		testenv.Eventually(t, time.Minute, "the marker on the underlay with the plain backbone", func() error {
			if err := viaEndpoint(marker); err != nil {
				return err
			}
			if !capture.Contains([]byte(marker)) {
				return fmt.Errorf("not captured (%d frames)", capture.Frames())
			}
			return nil
		})
	})

	t.Run("strait down on every machine", func(t *testing.T) {
		for _, h := range hosts {
			h.agent.Stop()
		}
		env.Stop()
		for _, c := range []struct {
			m   *testenv.Machine
			dir string
		}{{h1.machine, h1.dir}, {h2.machine, h2.dir}, {srv, env.DataDir}} {
			out, err := c.m.Command(env.Proc.Bin, "down", "--data-dir", c.dir).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("removed ")) {
				t.Fatalf("strait down --data-dir %s in %s: %v\n%s", c.dir, c.m.Netns, err, out)
			}
			tag := netns.TagFor(c.dir)
			if left := testenv.Namespaces(t, tag); len(left) > 0 {
				t.Errorf("after strait down --data-dir %s: %v left", c.dir, left)
			}
			if left, _ := filepath.Glob("/etc/netns/strait-" + tag + "-*"); len(left) > 0 {
				t.Errorf("after strait down --data-dir %s: %v left", c.dir, left)
			}
			if links := machineLinks(t, c.m); c.m != srv && !slices.Equal(links, []string{"eth0", "lo"}) {
				t.Errorf("after strait down --data-dir %s, %s has the links %v, want only eth0 and lo", c.dir, c.m.Netns, links)
			}
		}
	})
}

// eniCounters are the kernel path's counters of an endpoint ENI in its
// VPC's namespace (translate's named counters): new flows, bytes each way.
type eniCounters struct{ flows, in, out uint64 }

// kernelCounters reads the counters of endpoint ENI eni in the namespace of
// VPC vpc on the host whose data directory is dir.
func kernelCounters(t *testing.T, dir, vpc, eni string) eniCounters {
	t.Helper()
	a := netip.MustParseAddr(eni).As4()
	hexd := hex.EncodeToString(a[:])
	ns := "strait-" + netns.TagFor(dir) + "-" + vpc
	read := func(name string) (packets, bytes uint64) {
		out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "counter", "ip", "strait_transit", name).CombinedOutput()
		if err != nil {
			t.Fatalf("nft list counter %s in %s: %v\n%s", name, ns, err, out)
		}
		f := strings.Fields(string(out))
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "packets":
				packets, _ = strconv.ParseUint(f[i+1], 10, 64)
			case "bytes":
				bytes, _ = strconv.ParseUint(f[i+1], 10, 64)
			}
		}
		return packets, bytes
	}
	var c eniCounters
	c.flows, _ = read("flows_" + hexd)
	_, c.in = read("in_" + hexd)
	_, c.out = read("out_" + hexd)
	return c
}

// lineOn sends one line on an open connection and reads the answer.
func lineOn(c net.Conn, line string) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	var got []byte
	buf := make([]byte, 256)
	for !bytes.HasSuffix(got, []byte("\n")) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return strings.TrimSpace(string(got)), err
		}
	}
	return strings.TrimSpace(string(got)), nil
}

// machineLinks is the sorted names of the links in a machine's namespace.
func machineLinks(t *testing.T, m *testenv.Machine) []string {
	t.Helper()
	out, err := m.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link in %s: %v", m.Netns, err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	slices.Sort(names)
	return names
}

// instanceIP is an instance's private address.
func instanceIP(t *testing.T, c *ec2.Client, id string) string {
	t.Helper()
	d, err := c.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	check(t, err)
	return *d.Reservations[0].Instances[0].PrivateIpAddress
}
