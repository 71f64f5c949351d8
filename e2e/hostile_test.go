package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// The tests here drive a real `strait server` process (testenv.StartProcess)
// to its open-file limit. The test process has the same limit as the server
// would (20,000 here, not raisable) and needs descriptors for its own side of
// every connection, so the server is started with a lower limit (prlimit
// --nofile): 1,024 for the API test, 2,048 for the data plane test. The
// shares of the budget are fractions of the limit, so what a 20,000 limit
// does at 20,000 connections these do at a few thousand.

// TestSlowClientsDoNotExhaustTheServer holds 2,000 unauthenticated
// connections — more than the server's 1,024 descriptors — that never finish a
// request: a third connect and send nothing, a third send a request head
// promising a body that never comes, a third send a request and keep the
// connection idle. While they are held, a signed request is answered, the
// store writes, and the process lives.
func TestSlowClientsDoNotExhaustTheServer(t *testing.T) {
	env := testenv.StartProcess(t, testenv.ProcessConfig{NoFile: 1024})
	const attackers = 2000
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	heads := []string{
		"",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nAction=Describe",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 35\r\n\r\nAction=DescribeVpcs&Version=2016-11-15",
	}
	for i := range attackers {
		c, err := net.DialTimeout("tcp", env.Proc.Addr, 10*time.Second)
		if err != nil {
			continue // refused: the server is defending itself
		}
		held = append(held, c)
		if h := heads[i%3]; h != "" {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, h) // a reset connection fails here; it is still held
		}
	}
	t.Logf("%d of %d connections opened", len(held), attackers)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := env.EC2(providerAcct)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatalf("a signed request while %d slow connections are held: %v", len(held), err)
	}
	d, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{*vpc.Vpc.VpcId}})
	if err != nil || len(d.Vpcs) != 1 {
		t.Fatalf("reading back the VPC the store wrote: %v", err)
	}
	if exited, err := env.Proc.Exited(); exited {
		t.Fatalf("the server exited: %v", err)
	}
	if !env.Proc.Healthy() {
		t.Fatal("/healthz does not answer 200")
	}
	if n := metricValue(t, env, "strait_api_evicted_connections_total"); n == 0 {
		t.Error("no connection was evicted: the slow connections never reached the cap")
	}
	if log := env.Proc.Log(); strings.Contains(log, "level=FATAL") || strings.Contains(log, "too many open files") {
		t.Errorf("the server ran out of descriptors:\n%s", grepLines(log, "FATAL", "too many open files"))
	}
}

// TestEndpointAtDescriptorLimit opens connections through one endpoint until
// the relay refuses one (the server has 2,048 descriptors, and so has the
// relay process it starts; each relayed connection holds two of the relay's).
// A refused connection is reset at once; the held ones still echo; the server
// and the relay process live, the API answers and the store writes; the
// refusals are counted (in the server's /metrics) and logged once per
// interval (in relay.log), not per connection; once connections close, new
// ones are relayed again.
//
// It runs on the relay: translated connections hold no descriptor (on the
// kernel path 2,048 connections through the endpoint of a server limited to
// 2,048 descriptors were all carried).
func TestEndpointAtDescriptorLimit(t *testing.T) {
	env := testenv.StartProcess(t, testenv.ProcessConfig{NoFile: 2048, Dataplane: "netns", Forwarding: "relay"})
	l := newLink(t, env)
	l.target(l.subnets[0], "db", nil)
	client, _ := l.instance(l.cec2, l.csubnet)
	l.connect()

	type held struct {
		c net.Conn
		r *bufio.Reader
	}
	echo := func(h held, line string) error {
		h.c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(h.c, line+"\n"); err != nil {
			return err
		}
		got, err := h.r.ReadString('\n')
		if err == nil && strings.TrimSpace(got) != "db "+line {
			err = fmt.Errorf("answer %q", got)
		}
		return err
	}
	open := func(line string) (held, error) {
		c, err := testenv.DialFrom(t, client, l.addr(), 30*time.Second)
		if err != nil {
			return held{}, err
		}
		h := held{c, bufio.NewReader(c)}
		if err := echo(h, line); err != nil {
			c.Close()
			return held{}, err
		}
		return h, nil
	}
	var conns []held
	defer func() {
		for _, h := range conns {
			h.c.Close()
		}
	}()
	var refusal error
	for i := 0; i < 2048 && refusal == nil; i++ {
		h, err := open(fmt.Sprintf("hello %d", i))
		if err != nil {
			refusal = err
			break
		}
		conns = append(conns, h)
	}
	if refusal == nil {
		t.Fatalf("%d connections through the endpoint and none refused", len(conns))
	}
	if !isReset(refusal) {
		t.Fatalf("connection %d failed with %v, want a reset (refused at the descriptor limit)", len(conns)+1, refusal)
	}
	t.Logf("%d connections relayed, the next reset: %v", len(conns), refusal)
	start := time.Now()
	refused := 1
	for range 20 {
		if _, err := open("more"); err != nil && isReset(err) {
			refused++
		}
	}

	for i, h := range conns {
		if err := echo(h, fmt.Sprintf("still %d", i)); err != nil {
			t.Fatalf("held connection %d of %d stopped echoing: %v", i, len(conns), err)
		}
	}
	if exited, err := env.Proc.Exited(); exited {
		t.Fatalf("the server exited: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := l.cec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{l.cvpc}, Tags: []ec2types.Tag{{Key: aws.String("at-limit"), Value: aws.String("yes")}}}); err != nil {
		t.Fatalf("the API at the descriptor limit: %v", err)
	}
	if n := metricValue(t, env, "strait_dataplane_refused_connections_total"); n < float64(refused) {
		t.Errorf("strait_dataplane_refused_connections_total %v, want at least the %d refusals seen", n, refused)
	}
	relayLog, err := os.ReadFile(filepath.Join(env.DataDir, "relay.log"))
	check(t, err)
	logged := strings.Count(string(relayLog), "connections refused: the data plane's share of descriptors is spent")
	// The first at once, then the others of each 10 s interval together.
	if most := 2 + int(time.Since(start)/(10*time.Second)); logged < 1 || logged > most {
		t.Errorf("%d refusals logged %d times in %s, want once per 10 s interval (1 to %d)", refused, logged, time.Since(start).Round(time.Second), most)
	}
	for who, log := range map[string]string{"server": env.Proc.Log(), "relay process": string(relayLog)} {
		if strings.Contains(log, "level=FATAL") || strings.Contains(log, "too many open files") {
			t.Errorf("the %s ran out of descriptors:\n%s", who, grepLines(log, "FATAL", "too many open files"))
		}
	}

	// Half the held connections close: new connections are relayed again.
	for _, h := range conns[len(conns)/2:] {
		h.c.Close()
	}
	conns = conns[:len(conns)/2]
	testenv.Eventually(t, time.Minute, "a new connection after half closed", func() error {
		h, err := open("again")
		if err == nil {
			conns = append(conns, h)
		}
		return err
	})
}

// TestHugeAndInvalidActions: 60 unauthenticated requests with distinct 3 MB
// Action values leave the server's RSS and /metrics bounded (on main, each
// value became a metric label kept for good: +247 MiB, /metrics 180 MB); an
// Action that is not UTF-8 gets one XML error document and no stack trace.
func TestHugeAndInvalidActions(t *testing.T) {
	env := testenv.StartProcess(t, testenv.ProcessConfig{})
	post := func(body string) (int, string) {
		resp, err := http.Post(env.URL()+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post("Action=DescribeVpcs&Version=2016-11-15") // warm up
	before := rssMiB(t, env.Proc.PID())
	big := strings.Repeat("A", 3<<20)
	for i := range 60 {
		post(fmt.Sprintf("Version=2016-11-15&Action=%d%s", i, big))
	}
	after := rssMiB(t, env.Proc.PID())
	metrics := metricsText(t, env)
	t.Logf("RSS %.0f → %.0f MiB; /metrics %d bytes", before, after, len(metrics))
	if len(metrics) > 1<<20 {
		t.Errorf("/metrics is %d bytes after 60 distinct Action values", len(metrics))
	}
	if after-before > 100 {
		t.Errorf("RSS grew %.0f MiB over 60 requests of 3 MB", after-before)
	}

	status, body := post("Action=Describe\xffVpcs&Version=2016-11-15")
	if status != 400 || strings.Count(body, "<?xml") != 1 || !strings.Contains(body, "<Code>MalformedQueryString</Code>") {
		t.Errorf("an Action that is not UTF-8: %d\n%s", status, body)
	}
	if log := env.Proc.Log(); strings.Contains(log, "goroutine ") || strings.Contains(log, "panic") {
		t.Errorf("the server logged a panic:\n%s", grepLines(log, "panic"))
	}
}

// isReset reports whether err is a connection reset (or the EOF a reset
// during the handshake may show as).
func isReset(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection reset by peer") || err == io.EOF || strings.HasSuffix(s, ": EOF")
}

// metricsText is the server's /metrics.
func metricsText(t *testing.T, env *testenv.Env) string {
	t.Helper()
	resp, err := http.Get(env.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue is the value of an unlabelled metric in /metrics (0 if absent).
func metricValue(t *testing.T, env *testenv.Env, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(metricsText(t, env), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// rssMiB is a process's resident memory in MiB.
func rssMiB(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib / 1024
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

// grepLines is the lines of s that contain any of words (at most 20).
func grepLines(s string, words ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out[:min(len(out), 20)], "\n")
}
