package e2e_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"strait/internal/agent/netns"
	"strait/internal/server"
	"strait/internal/testenv"
)

// The kernel forwarding path (issue 14): endpoint flows translated in the
// kernel, the rest of the provider unreachable, flows independent of the
// server process, cut on rejection and deletion, counted.

// transitAddrs lists the transit addresses routed in the server's transit
// namespace (VPC links and load balancer nodes).
func transitAddrs(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	ns := "strait-" + netns.TagFor(env.DataDir) + "-transit"
	out, err := exec.Command("ip", "-n", ns, "-4", "route", "show").CombinedOutput()
	check(t, err)
	var addrs []string
	for _, m := range regexp.MustCompile(`(?m)^(169\.254\.\d+\.\d+) `).FindAllStringSubmatch(string(out), -1) {
		addrs = append(addrs, m[1])
	}
	if len(addrs) < 3 { // the consumer's and the provider's links, the node
		t.Fatalf("transit routes: %s", out)
	}
	return append(addrs, "169.254.0.1")
}

// listensOn reports whether a socket listens on addr in the VPC's namespace.
func listensOn(t *testing.T, env *testenv.Env, vpc, addr string) bool {
	t.Helper()
	ns := "strait-" + netns.TagFor(env.DataDir) + "-" + vpc
	out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Htln").CombinedOutput()
	check(t, err)
	return strings.Contains(string(out), addr)
}

// mustNotReach checks that from cannot open a connection to addr (refused,
// reset or timed out).
func mustNotReach(t *testing.T, from, addr string) {
	t.Helper()
	c, err := testenv.DialFrom(t, from, addr, time.Second)
	if err == nil {
		c.Close()
		t.Errorf("%s reached %s", from, addr)
	}
}

func TestKernelPathIsolation(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{Forwarding: "kernel"})
	l := newLink(t, env)
	target, client := l.dbAndClient()
	if got, err := ask(t, client, l.addr(), "hello"); err != nil || got != "db hello" {
		t.Fatalf("through the endpoint: %q, %v", got, err)
	}
	if listensOn(t, env, l.cvpc, l.addr()) {
		t.Fatalf("the relay listens on %s: the listener is not translated in the kernel", l.addr())
	}
	// Nothing but the endpoint's port: not its other ports, not any transit
	// address, from the consumer; and the provider's instance reaches no
	// transit address either.
	mustNotReach(t, client, fmt.Sprintf("%s:%d", l.endpointIP, servicePort+1))
	for _, a := range transitAddrs(t, env) {
		for _, port := range []int{servicePort, 22, 53} {
			mustNotReach(t, client, fmt.Sprintf("%s:%d", a, port))
			mustNotReach(t, target, fmt.Sprintf("%s:%d", a, port))
		}
	}
}

// TestKernelFlowsOutliveTheServer: a connection through the endpoint goes on
// while the server is stopped and after it restarted, and new connections work
// while it is stopped.
func TestKernelFlowsOutliveTheServer(t *testing.T) {
	dir := t.TempDir()
	env := testenv.StartNetns(t, server.Config{DataDir: dir, Forwarding: "kernel"})
	l := newLink(t, env)
	_, client := l.dbAndClient()
	conn, talk := dialTalk(t, client, l.addr())
	defer conn.Close()
	if got, err := talk("before"); err != nil || got != "db before" {
		t.Fatalf("before the restart: %q, %v", got, err)
	}
	env.Stop()
	if got, err := talk("stopped"); err != nil || got != "db stopped" {
		t.Fatalf("while the server is stopped: %q, %v", got, err)
	}
	// New connections too: the translation stays in the kernel.
	if got, err := ask(t, client, l.addr(), "new while stopped"); err != nil || got != "db new while stopped" {
		t.Fatalf("a new connection while the server is stopped: %q, %v", got, err)
	}
	testenv.StartConfig(t, server.Config{DataDir: dir, Dataplane: "netns", Dev: true, Forwarding: "kernel"})
	testenv.Eventually(t, 2*time.Minute, "a new connection after the restart", func() error {
		got, err := ask(t, client, l.addr(), "new")
		if err == nil && got != "db new" {
			err = fmt.Errorf("answer %q", got)
		}
		return err
	})
	if got, err := talk("after"); err != nil || got != "db after" {
		t.Fatalf("the same connection after the restart: %q, %v", got, err)
	}
}

// dialTalk opens a connection from an instance and returns a function that
// sends a line on it and reads the answer.
func dialTalk(t *testing.T, from, addr string) (net.Conn, func(string) (string, error)) {
	t.Helper()
	conn, err := testenv.DialFrom(t, from, addr, 5*time.Second)
	check(t, err)
	r := bufio.NewReader(conn)
	return conn, func(line string) (string, error) {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, line+"\n"); err != nil {
			return "", err
		}
		s, err := r.ReadString('\n')
		return strings.TrimSpace(s), err
	}
}

// mustBeCut checks that the connection's next exchange fails: with a reset, or
// with a timeout where the endpoint's address is gone (deleted).
func mustBeCut(t *testing.T, talk func(string) (string, error), what string, timeoutToo bool) {
	t.Helper()
	testenv.Eventually(t, time.Minute, what+" cuts the live connection", func() error {
		got, err := talk("still there?")
		if err == nil {
			return fmt.Errorf("answered %q", got)
		}
		var ne net.Error
		if timeoutToo && errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: the connection failed with %v, want a reset", what, err)
		}
		return nil
	})
}

// TestRejectAndDeleteCutFlows: rejecting an endpoint and deleting one end their
// live connections: after a rejection the client's next packet is reset; after
// a deletion the endpoint's address is gone, so the client times out (as on
// AWS), and its flow's state is gone from the kernel.
func TestRejectAndDeleteCutFlows(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{Forwarding: "kernel"})
	l := newLink(t, env)
	_, client := l.dbAndClient()
	conn, talk := dialTalk(t, client, l.addr())
	defer conn.Close()
	if got, err := talk("one"); err != nil || got != "db one" {
		t.Fatalf("through the endpoint: %q, %v", got, err)
	}
	_, err := l.pec2.RejectVpcEndpointConnections(l.ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: aws.String(l.svc), VpcEndpointIds: []string{l.endpoint}})
	check(t, err)
	mustBeCut(t, talk, "rejecting the endpoint", false)

	l.connect() // a second endpoint
	conn2, talk2 := dialTalk(t, client, l.addr())
	defer conn2.Close()
	if got, err := talk2("two"); err != nil || got != "db two" {
		t.Fatalf("through the second endpoint: %q, %v", got, err)
	}
	_, err = l.cec2.DeleteVpcEndpoints(l.ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{l.endpoint}})
	check(t, err)
	mustBeCut(t, talk2, "deleting the endpoint", true)
	if n := flowsTo(t, env, l.cvpc, l.endpointIP); n != 0 {
		t.Errorf("%d conntrack entries to the deleted endpoint's address are left", n)
	}
}

// flowsTo counts the conntrack entries to addr in a VPC's namespace.
func flowsTo(t *testing.T, env *testenv.Env, vpc, addr string) int {
	t.Helper()
	ns, err := vnetns.GetFromName("strait-" + netns.TagFor(env.DataDir) + "-" + vpc)
	check(t, err)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	check(t, err)
	defer h.Close()
	flows, err := h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	check(t, err)
	n := 0
	for _, f := range flows {
		if f.Forward.DstIP.String() == addr {
			n++
		}
	}
	return n
}

// TestKernelCounters: /metrics counts the endpoint's translated connections and
// bytes: every connection, and at least the payload both ways (the kernel
// counts IP packets, headers included: at most 100 bytes more per packet).
func TestKernelCounters(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{Forwarding: "kernel"})
	l := newLink(t, env)
	_, client := l.dbAndClient()
	const conns, lines = 5, 20
	line := strings.Repeat("x", 1000)
	var sent, received int
	for range conns {
		conn, talk := dialTalk(t, client, l.addr())
		for range lines {
			got, err := talk(line)
			check(t, err)
			sent += len(line) + 1
			received += len(got) + 1
		}
		conn.Close()
	}
	metric := func(body, name, label string) float64 {
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, `vpc_endpoint_id="`+l.endpoint+`"`) && strings.Contains(line, label) {
				v, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
				return v
			}
		}
		return -1
	}
	testenv.Eventually(t, time.Minute, "the counters", func() error {
		resp, err := http.Get(env.Server.URL() + "/metrics")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		n := metric(body, "strait_privatelink_endpoint_new_connections_total", "")
		in := metric(body, "strait_privatelink_endpoint_bytes_processed_total", `direction="in"`)
		out := metric(body, "strait_privatelink_endpoint_bytes_processed_total", `direction="out"`)
		// Each line is a packet or two each way, plus handshake and acks.
		maxPackets := float64(conns * (4*lines + 10))
		switch {
		case n != conns:
			return fmt.Errorf("new connections %v, want %d", n, conns)
		case in < float64(sent) || in > float64(sent)+100*maxPackets:
			return fmt.Errorf("bytes in %v, want %d payload bytes plus headers", in, sent)
		case out < float64(received) || out > float64(received)+100*maxPackets:
			return fmt.Errorf("bytes out %v, want %d payload bytes plus headers", out, received)
		}
		return nil
	})
}

// TestRelayAttributeMovesNewConnections: strait.relay.enabled moves a
// listener's new connections between the paths; connections already open
// finish on the path they took.
func TestRelayAttributeMovesNewConnections(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{Forwarding: "kernel"})
	l := newLink(t, env)
	_, client := l.dbAndClient()
	setRelay := func(on bool) {
		_, err := l.elb.ModifyTargetGroupAttributes(l.ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(l.tg),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("strait.relay.enabled"), Value: aws.String(strconv.FormatBool(on))}}})
		check(t, err)
		testenv.Eventually(t, time.Minute, fmt.Sprintf("the relay listening on the endpoint: %v", on), func() error {
			if listensOn(t, env, l.cvpc, l.addr()) != on {
				return errors.New("not yet")
			}
			return nil
		})
	}
	kernelConn, viaKernel := dialTalk(t, client, l.addr())
	defer kernelConn.Close()
	if got, err := viaKernel("k1"); err != nil || got != "db k1" {
		t.Fatalf("translated connection: %q, %v", got, err)
	}
	setRelay(true)
	relayConn, viaRelay := dialTalk(t, client, l.addr())
	defer relayConn.Close()
	for _, c := range []struct {
		talk func(string) (string, error)
		line string
	}{{viaKernel, "k2"}, {viaRelay, "r1"}} {
		if got, err := c.talk(c.line); err != nil || got != "db "+c.line {
			t.Fatalf("after moving to the relay, %s: %q, %v", c.line, got, err)
		}
	}
	setRelay(false)
	for _, c := range []struct {
		talk func(string) (string, error)
		line string
	}{{viaKernel, "k3"}, {viaRelay, "r2"}} {
		if got, err := c.talk(c.line); err != nil || got != "db "+c.line {
			t.Fatalf("after moving back to the kernel, %s: %q, %v", c.line, got, err)
		}
	}
	if got, err := ask(t, client, l.addr(), "new"); err != nil || got != "db new" {
		t.Fatalf("a new connection on the kernel path again: %q, %v", got, err)
	}
}

// TestFlowsSurviveServerCrash (issue 18): 100 connections established through
// an endpoint, on the kernel path and through the relay process, echo after
// kill -9 of the server, after its restart, after SIGTERM and after a second
// restart; new connections work while the server is down and after each
// restart, and the endpoint's name resolves meanwhile (the resolvers run in
// the relay process). With the relay, killing the relay process itself ends
// its connections, and the server starts a new one that carries new
// connections.
func TestFlowsSurviveServerCrash(t *testing.T) {
	for _, forwarding := range []string{"kernel", "relay"} {
		t.Run(forwarding, func(t *testing.T) { flowsSurviveServerCrash(t, forwarding) })
	}
}

func flowsSurviveServerCrash(t *testing.T, forwarding string) {
	dir := t.TempDir()
	start := func() *testenv.Env {
		return testenv.StartProcess(t, testenv.ProcessConfig{Dataplane: "netns", Forwarding: forwarding, DataDir: dir})
	}
	env := start()
	l := newLink(t, env)
	_, client := l.dbAndClient()
	if relayed := listensOn(t, env, l.cvpc, l.addr()); relayed != (forwarding == "relay") {
		t.Fatalf("--forwarding %s: a socket listens on the endpoint: %v", forwarding, relayed)
	}
	const n = 100
	talks := make([]func(string) (string, error), n)
	for i := range talks {
		conn, talk := dialTalk(t, client, l.addr())
		defer conn.Close()
		talks[i] = talk
	}
	echoAll := func(when string) {
		t.Helper()
		for i, talk := range talks {
			line := fmt.Sprintf("%s %d", when, i)
			if got, err := talk(line); err != nil || got != "db "+line {
				t.Fatalf("connection %d %s: %q, %v", i, when, got, err)
			}
		}
	}
	out, err := l.cec2.DescribeVpcEndpoints(l.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{l.endpoint}})
	check(t, err)
	name := *out.VpcEndpoints[0].DnsEntries[0].DnsName
	// A new connection by the endpoint's name: the consumer VPC's resolver
	// answers too.
	probe := func(when string) error {
		if got, _, code := testenv.Exec(t, client, "getent", "hosts", name); code != 0 || !strings.HasPrefix(got, l.endpointIP+" ") {
			return fmt.Errorf("resolving %s %s: exit %d, %q", name, when, code, got)
		}
		if got, err := ask(t, client, l.addr(), "new "+when); err != nil || got != "db new "+when {
			return fmt.Errorf("a new connection %s: %q, %v", when, got, err)
		}
		return nil
	}
	askNew := func(when string) {
		t.Helper()
		if err := probe(when); err != nil {
			t.Fatal(err)
		}
	}
	echoAll("before")
	relay := relayPID(t, dir)
	if relay == 0 {
		t.Fatal("no relay process")
	}
	sameRelay := func(when string) {
		t.Helper()
		if p := relayPID(t, dir); p != relay {
			t.Fatalf("%s: relay process %d, want %d adopted", when, p, relay)
		}
	}

	check(t, syscall.Kill(env.Proc.PID(), syscall.SIGKILL))
	testenv.Eventually(t, time.Minute, "the killed server gone", func() error {
		if done, _ := env.Proc.Exited(); !done {
			return errors.New("still running")
		}
		return nil
	})
	echoAll("after kill -9")
	askNew("while the killed server is down")
	env = start()
	echoAll("after the restart")
	askNew("after the restart")
	env.Stop() // SIGTERM
	echoAll("after SIGTERM")
	askNew("while the server is stopped")
	env = start()
	echoAll("after the second restart")
	askNew("after the second restart")
	sameRelay("after the second restart")
	if forwarding == "relay" {
		relayDies(t, env, relay, probe)
	}
}

// relayDies kills the relay process (pid): the server starts another, which
// opens the endpoint's listener and the resolvers again and carries new
// connections (probe).
func relayDies(t *testing.T, env *testenv.Env, pid int, probe func(string) error) {
	t.Helper()
	check(t, syscall.Kill(pid, syscall.SIGKILL))
	testenv.Eventually(t, 2*time.Minute, "a new relay process resolving and carrying new connections", func() error {
		if p := relayPID(t, env.DataDir); p == pid || p == 0 {
			return fmt.Errorf("relay process %d", p)
		}
		return probe("after the relay process was replaced")
	})
}

// relayPID is the pid of the relay process of dataDir (0: none), from its
// command line.
func relayPID(t *testing.T, dataDir string) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "relay --data-dir "+dataDir).Output()
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return pid
}
