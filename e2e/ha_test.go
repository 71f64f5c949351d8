package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"strait/internal/nativeapi"
	"strait/internal/testenv"
)

// replicaTransport sends each request to one of the server replicas' APIs,
// and to the next when a replica cannot be reached: a client that knows
// every replica, as the AWS CLI behind a load balancer would.
type replicaTransport struct {
	mu    sync.Mutex
	hosts []string // host:port
	at    int
}

func (r *replicaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	var err error
	for range r.hosts {
		r.mu.Lock()
		host := r.hosts[r.at]
		r.mu.Unlock()
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = host, host
		out.Body = io.NopCloser(bytes.NewReader(body))
		var resp *http.Response
		if resp, err = http.DefaultTransport.RoundTrip(out); err == nil {
			return resp, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
		r.mu.Lock()
		if r.hosts[r.at] == host {
			r.at = (r.at + 1) % len(r.hosts)
		}
		r.mu.Unlock()
	}
	return nil, err
}

// haReplica is one `strait server` replica: its flags, to start it again.
type haReplica struct {
	name string
	cfg  testenv.ProcessConfig
	env  *testenv.Env
}

func (r *haReplica) start(t *testing.T) {
	t.Helper()
	r.env = testenv.StartProcess(t, r.cfg)
}

// leads reports whether the replica's log says it leads now.
func (r *haReplica) leads() bool {
	if exited, _ := r.env.Proc.Exited(); exited {
		return false
	}
	log := r.env.Proc.Log()
	return strings.LastIndex(log, "leader: this replica leads") > strings.LastIndex(log, "leader: this replica no longer leads")
}

// Three server replicas on a three-member embedded etcd cluster (processes on
// loopback), the control plane of one agent host that carries an endpoint:
// kill -9 the leader while API calls and endpoint connections run — no call
// fails past the client's retries, no connection fails, another replica leads
// and a new endpoint becomes available; with two members gone the API
// answers ServiceUnavailable and traffic goes on; the members come back; and
// everything is still there after all three restart.
func TestHighAvailability(t *testing.T) {
	testenv.RequireRoot(t)
	serverFlags, agentFlags := readmeHA(t)
	const n = 3
	replicas := make([]*haReplica, n)
	var cluster []string
	for i := range replicas {
		name := fmt.Sprintf("s%d", i+1)
		peer := "http://" + testenv.FreeLoopbackPort(t)
		cluster = append(cluster, name+"="+peer)
		replicas[i] = &haReplica{name: name, cfg: testenv.ProcessConfig{AgentListener: true, Listen: testenv.FreeLoopbackPort(t), AgentListen: testenv.FreeLoopbackPort(t),
			DataDir: filepath.Join(t.TempDir(), name), NoWait: true}}
	}
	for _, r := range replicas {
		// The README's flags, with this machine's addresses (--dataplane
		// and --agent-listen are StartProcess's own).
		values := map[string]string{"--etcd-name": r.name, "--etcd-peer-listen": strings.TrimPrefix(cluster[slices.Index(replicas, r)], r.name+"="),
			"--etcd-initial-cluster": strings.Join(cluster, ",")}
		for _, f := range serverFlags {
			if v, ok := values[f]; ok {
				r.cfg.Args = append(r.cfg.Args, f, v)
			}
		}
		r.start(t)
	}
	for _, r := range replicas {
		r.env.WaitHealthy()
	}
	leader := func(not ...*haReplica) *haReplica {
		t.Helper()
		var l *haReplica
		testenv.Eventually(t, 2*time.Minute, "one replica leads", func() error {
			l = nil
			for _, r := range replicas {
				if !r.leads() {
					continue
				}
				if l != nil {
					return fmt.Errorf("%s and %s both lead", l.name, r.name)
				}
				l = r
			}
			for _, o := range not {
				if l == o {
					return fmt.Errorf("%s still leads", l.name)
				}
			}
			if l == nil {
				return errors.New("none leads")
			}
			return nil
		})
		return l
	}
	first := leader()

	// Clients that know every replica; the SDK's standard retries (5 attempts).
	var apiHosts, agentURLs []string
	for _, r := range replicas {
		apiHosts = append(apiHosts, r.cfg.Listen)
		agentURLs = append(agentURLs, "https://"+r.cfg.AgentListen)
	}
	httpc := &http.Client{Transport: &replicaTransport{hosts: apiHosts}}
	config := func(acct string) aws.Config {
		c := replicas[0].env.Config(acct)
		c.HTTPClient = httpc
		c.Retryer = func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 }) }
		return c
	}

	// One host serves us-east-1a; it knows every replica's agent listener.
	cli := hostCLI{t: t, env: replicas[1].env}
	token := cli.run(false, "host", "token", "create", "--ttl", "30m") // through a replica that may not lead
	agentDir := filepath.Join(t.TempDir(), "agent")
	values := map[string]string{"--server": strings.Join(agentURLs, ","), "--token": token, "--zones": "us-east-1a"}
	var agentArgs []string
	for _, f := range agentFlags {
		agentArgs = append(agentArgs, f, values[f])
	}
	agent := replicas[0].env.Proc.StartAgent(t, append(agentArgs, "--data-dir", agentDir)...)
	cli.waitHost("the host to be ready", func(h nativeapi.Host) bool { return h.State == "ready" })

	l := newLinkWith(t, replicas[0].env, config, "a")
	l.target(l.subnets[0], "a", nil)
	client, _ := l.instance(l.cec2, l.csubnet)
	l.connect()
	if got, err := ask(t, client, l.addr(), "hello"); err != nil || got != "a hello" {
		t.Fatalf("through the endpoint: %q, %v", got, err)
	}

	// API calls and endpoint connections run while the leader is killed.
	var calls, callFailures, conns, connFailures atomic.Int64
	var failMu sync.Mutex
	var failures []string
	fail := func(what string, err error) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, what+": "+err.Error())
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() }) // also when the test fails on the way
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			calls.Add(1)
			if _, err := l.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{l.endpoint}}); err != nil && ctx.Err() == nil {
				callFailures.Add(1)
				fail("DescribeVpcEndpoints", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			conns.Add(1)
			line := fmt.Sprintf("n%d", i)
			if got, err := ask(t, client, l.addr(), line); err != nil || got != "a "+line {
				connFailures.Add(1)
				fail("connection "+line, fmt.Errorf("%q, %v", got, err))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// Let the loops run before and after the kill.
	for calls.Load() < 5 || conns.Load() < 5 {
		time.Sleep(20 * time.Millisecond)
	}
	killed := time.Now()
	first.env.Proc.Kill()
	second := leader(first)
	t.Logf("%s leads %v after %s was killed", second.name, time.Since(killed).Round(10*time.Millisecond), first.name)
	// Reconcile resumes: a new endpoint becomes available.
	out, err := l.cec2.CreateVpcEndpoint(l.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(l.cvpc), SubnetIds: []string{l.csubnet}, ServiceName: aws.String("com.amazonaws.vpce.us-east-1." + l.svc)})
	check(t, err)
	newEndpoint := *out.VpcEndpoint.VpcEndpointId
	waitAvailable := func(what string, ids ...string) {
		t.Helper()
		testenv.Eventually(t, 2*time.Minute, what, func() error {
			d, err := l.cec2.DescribeVpcEndpoints(l.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: ids})
			if err != nil {
				return err
			}
			for _, e := range d.VpcEndpoints {
				if !strings.EqualFold(string(e.State), "available") {
					return fmt.Errorf("%s is %s", *e.VpcEndpointId, e.State)
				}
			}
			return nil
		})
	}
	waitAvailable("the endpoint created after the leader died", newEndpoint)
	t.Logf("a new endpoint available %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	// The loops go on a little under the new leader.
	for c := calls.Load() + 5; calls.Load() < c; {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	t.Logf("%d API calls (%d failed), %d endpoint connections (%d failed) across the leader's death", calls.Load(), callFailures.Load(), conns.Load(), connFailures.Load())
	if callFailures.Load() > 0 || connFailures.Load() > 0 {
		t.Fatalf("failures across the leader's death: %v", failures)
	}

	// Two of three etcd members gone: the last replica answers
	// ServiceUnavailable, and the data plane carries on.
	var last *haReplica
	for _, r := range replicas {
		if r != first && r != second {
			last = r
		}
	}
	second.env.Proc.Kill()
	lastOnly := ec2.NewFromConfig(last.env.Config(consumerAcct), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	testenv.Eventually(t, 2*time.Minute, "ServiceUnavailable without quorum", func() error {
		_, err := lastOnly.DescribeVpcEndpoints(l.ctx, &ec2.DescribeVpcEndpointsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable" {
			return fmt.Errorf("got %v", err)
		}
		if !strings.Contains(ae.ErrorMessage(), "quorum") {
			return fmt.Errorf("the message does not say why: %q", ae.ErrorMessage())
		}
		return nil
	})
	if got, err := ask(t, client, l.addr(), "no quorum"); err != nil || got != "a no quorum" {
		t.Fatalf("through the endpoint without a control plane: %q, %v", got, err)
	}

	// They come back: everything is there, and the host reports again.
	first.start(t)
	second.start(t)
	for _, r := range replicas {
		r.env.WaitHealthy()
	}
	waitAvailable("both endpoints after the members returned", l.endpoint, newEndpoint)
	leader()
	cli.waitHost("the host to be ready again", func(h nativeapi.Host) bool { return h.State == "ready" })

	// Everything restarts: all state is there.
	for _, r := range replicas {
		r.env.Stop()
	}
	for _, r := range replicas {
		r.start(t)
	}
	for _, r := range replicas {
		r.env.WaitHealthy()
	}
	leader()
	waitAvailable("both endpoints after all replicas restarted", l.endpoint, newEndpoint)
	// The new leader serves the host its part: a third endpoint becomes available.
	out, err = l.cec2.CreateVpcEndpoint(l.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		VpcId: aws.String(l.cvpc), SubnetIds: []string{l.csubnet}, ServiceName: aws.String("com.amazonaws.vpce.us-east-1." + l.svc)})
	check(t, err)
	waitAvailable("an endpoint created after all replicas restarted", *out.VpcEndpoint.VpcEndpointId)
	if got, err := ask(t, client, l.addr(), "after"); err != nil || got != "a after" {
		t.Fatalf("through the endpoint after the restarts: %q, %v", got, err)
	}
	agent.Stop()
}

// readmeHA is the flags of the README's three-server region ("High
// availability"): those of its `strait server` command, which must be a
// control plane on an embedded cluster with an agent listener, and of its
// `strait agent` command, which must name the three replicas. The test runs
// them with its own addresses.
func readmeHA(t *testing.T) (server, agent []string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	check(t, err)
	_, sec, ok := strings.Cut(string(b), "\n## High availability\n")
	if !ok {
		t.Fatal("README has no section \"## High availability\"")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	// Indented commands, continuation lines joined.
	var cmds []string
	cur := ""
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "    ") {
			cur = ""
			continue
		}
		cur += " " + strings.TrimSuffix(strings.TrimSpace(line), "\\")
		if !strings.HasSuffix(line, "\\") {
			cmds = append(cmds, strings.TrimSpace(cur))
			cur = ""
		}
	}
	flags := func(cmd string) (map[string]string, []string) {
		f := strings.Fields(cmd)
		vals, order := map[string]string{}, []string(nil)
		for i := 2; i+1 < len(f); i += 2 {
			vals[f[i]] = f[i+1]
			order = append(order, f[i])
		}
		return vals, order
	}
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, "strait server ") && strings.Contains(c, "--agent-listen"):
			vals, order := flags(c)
			for _, want := range []string{"--dataplane", "--agent-listen", "--etcd-name", "--etcd-peer-listen", "--etcd-initial-cluster"} {
				if _, ok := vals[want]; !ok {
					t.Fatalf("the README's three-server region: %q has no %s", c, want)
				}
			}
			if vals["--dataplane"] != "none" || strings.Count(vals["--etcd-initial-cluster"], "=") != 3 {
				t.Fatalf("the README's three-server region: %q is not a control plane on a three-member cluster", c)
			}
			server = order
		case strings.HasPrefix(c, "strait agent "):
			vals, order := flags(c)
			if strings.Count(vals["--server"], ",") != 2 || vals["--token"] == "" || vals["--zones"] == "" {
				t.Fatalf("the README's agent of a three-server region: %q does not name the three replicas, a token and zones", c)
			}
			agent = order
		}
	}
	if server == nil || agent == nil {
		t.Fatalf("the README's High availability has no three-server region (commands: %q)", cmds)
	}
	return server, agent
}
