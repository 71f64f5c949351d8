package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"strait/internal/agent/netns"
	"strait/internal/nativeapi"
)

// Figure 10 (issue 16): the control plane across server replicas. Two
// control planes, one after the other, each `strait server --dataplane none
// --agent-listen` on loopback with one `strait agent` host (the root
// namespace) serving us-east-1a: a single server on its own embedded store,
// then three replicas on a three-member embedded etcd cluster (processes on
// loopback, as e2e TestHighAvailability). On each: CreateVpcEndpoint →
// available, and Describe* calls/s; on the replicas also against one replica
// and spread round-robin over the three, and the time to recover from the
// leader's death (kill -9), which is then started again.
//
//	provider VPC 10.0.0.0/16: subnet 10.0.1.0/24 (us-east-1a) with an internal
//	NLB, a listener 7000 to an empty target group, an endpoint service open to
//	the consumer. consumer VPC 10.0.0.0/16: subnet 10.0.16.0/20 (us-east-1a)
//	for the endpoints.

// Figure 10's control planes and ways of calling them (the "paths").
const (
	pSingle     = "single server"
	pReplicas   = "3 replicas"
	pOneReplica = "3 replicas, one (not leading)"
	pSpread     = "3 replicas, round-robin"
	pKillBoth   = "3 replicas, leader also etcd's leader"
	pKillLease  = "3 replicas, etcd's leader another"
)

// haDescribeClients is how many clients call Describe* at once.
const haDescribeClients = 8

// haPoll is how often availability is polled (each poll is an API call).
const haPoll = 5 * time.Millisecond

// haReplica is one server process of a control plane.
type haReplica struct {
	name      string
	srv       *straitServer
	agentAddr string // host:port of its agent listener
	etcdURL   string // its etcd member's client URL ("" for a single server)
	ec2       *ec2.Client
	logOff    int64
	leads     bool // its log's last leadership line says it leads
	leadsAt   time.Time
}

// alive reports whether the replica's process runs.
func (r *haReplica) alive() bool {
	select {
	case <-r.srv.proc.done:
		return false
	default:
		return true
	}
}

// readLog reads what the replica logged since the last call and updates
// leads from the leader package's lines.
func (r *haReplica) readLog() {
	f, err := os.Open(r.srv.log.Name())
	if err != nil {
		return
	}
	defer f.Close()
	b := make([]byte, 1<<20)
	n, _ := f.ReadAt(b, r.logOff)
	b = b[:n]
	end := strings.LastIndexByte(string(b), '\n')
	if end < 0 {
		return
	}
	for _, l := range strings.Split(string(b[:end]), "\n") {
		switch {
		case strings.Contains(l, "leader: this replica leads"):
			r.leads, r.leadsAt = true, time.Now()
		case strings.Contains(l, "leader: this replica no longer leads"):
			r.leads = false
		}
	}
	r.logOff += int64(end + 1)
}

// controlPlane is one of figure 10's control planes and its agent host.
type controlPlane struct {
	label    string
	replicas []*haReplica
	agent    *proc
	agentLog *os.File
	agentDir string
	topo     *topology
	cscale   string
}

// leader is the replica that leads now (by the logs; a dead one does not),
// nil if none or more than one does. A single server on its own store runs
// no election: it always leads.
func (c *controlPlane) leader() *haReplica {
	if len(c.replicas) == 1 && c.replicas[0].alive() {
		return c.replicas[0]
	}
	var l *haReplica
	for _, r := range c.replicas {
		r.readLog()
		if !r.alive() {
			r.leads = false // killed: its log never says it stopped leading
		}
		if !r.leads {
			continue
		}
		if l != nil {
			return nil
		}
		l = r
	}
	return l
}

// waitLeader waits until one live replica other than not leads.
func (c *controlPlane) waitLeader(ctx context.Context, not *haReplica, timeout time.Duration) (*haReplica, error) {
	var l *haReplica
	err := poll(ctx, timeout, 10*time.Millisecond, func() (bool, error) {
		l = c.leader()
		return l != nil && l != not, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: no replica leads: %w", c.label, err)
	}
	return l, nil
}

// straitCLI runs a strait command against a live replica's admin socket.
func (c *controlPlane) straitCLI(bin string, args ...string) (string, error) {
	for _, r := range c.replicas {
		if !r.alive() {
			continue
		}
		out, err := exec.Command(bin, append(args, "--data-dir", r.srv.dataDir)...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%v: %s", err, ee.Stderr)
			}
			return "", fmt.Errorf("strait %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	return "", errors.New("no replica runs")
}

// haFigure is figure 10; d is a driver of its own (d.res is its results).
func (d *driver) haFigure() error {
	var err error
	if d.tmp, err = os.MkdirTemp("", "strait-bench-ha-"); err != nil {
		return err
	}
	d.res.Paths = []path{{Name: pSingle}, {Name: pReplicas}, {Name: pOneReplica}, {Name: pSpread}, {Name: pKillBoth}, {Name: pKillLease}}
	for _, n := range []int{1, 3} {
		if d.ctx.Err() != nil {
			return errStopped
		}
		c, err := d.startControlPlane(n)
		if c != nil {
			d.planes = append(d.planes, c)
		}
		if err != nil {
			return err
		}
		if err := d.haAvailability(c); err != nil {
			return err
		}
		if err := d.haDescribeRates(c); err != nil {
			return err
		}
		if n > 1 {
			if err := d.haRecovery(c); err != nil {
				return err
			}
		}
		// One control plane at a time on this machine's CPUs.
		if err := d.stopControlPlane(c); err != nil {
			return err
		}
	}
	d.haNotes()
	return nil
}

// startControlPlane starts n server replicas (n = 1: a single server on its
// own store) and an agent host for us-east-1a, and builds the topology.
func (d *driver) startControlPlane(n int) (*controlPlane, error) {
	c := &controlPlane{label: pSingle}
	if n > 1 {
		c.label = pReplicas
	}
	dir := filepath.Join(d.tmp, fmt.Sprintf("cp%d", n))
	ports := make([]int, 4*n)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	var cluster []string
	for i := range n {
		cluster = append(cluster, fmt.Sprintf("s%d=http://127.0.0.1:%d", i+1, ports[4*i+2]))
	}
	for i := range n {
		name := fmt.Sprintf("s%d", i+1)
		logName := "ha-single.log"
		if n > 1 {
			logName = "ha-" + name + ".log"
		}
		logf, err := os.Create(filepath.Join(d.cfg.out, logName))
		if err != nil {
			return c, err
		}
		r := &haReplica{name: name, agentAddr: fmt.Sprintf("127.0.0.1:%d", ports[4*i+1])}
		extra := []string{"--dataplane", "none", "--agent-listen", r.agentAddr}
		if n > 1 {
			r.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[4*i+3])
			extra = append(extra, "--etcd-name", name, "--etcd-peer-listen", fmt.Sprintf("http://127.0.0.1:%d", ports[4*i+2]),
				"--etcd-client-listen", r.etcdURL, "--etcd-initial-cluster", strings.Join(cluster, ","))
		}
		r.srv = &straitServer{bin: d.cfg.straitBin, dataDir: filepath.Join(dir, name), listen: fmt.Sprintf("127.0.0.1:%d", ports[4*i]), log: logf, extra: extra}
		r.srv.url = "http://" + r.srv.listen
		r.srv.tag = netns.TagFor(r.srv.dataDir)
		r.ec2 = ec2.NewFromConfig(sdkConfig(r.srv.url, consumerAcct))
		c.replicas = append(c.replicas, r)
		if err := r.srv.launch(); err != nil {
			return c, err
		}
	}
	d.logf("figure 10: %s: started %d server process(es)", c.label, n)
	for _, r := range c.replicas {
		if err := r.srv.waitHealthy(d.ctx); err != nil {
			return c, fmt.Errorf("%s %s: %w", c.label, r.name, err)
		}
	}
	if _, err := c.waitLeader(d.ctx, nil, 2*time.Minute); err != nil {
		return c, err
	}
	token, err := c.straitCLI(d.cfg.straitBin, "host", "token", "create", "--ttl", "30m")
	if err != nil {
		return c, err
	}
	var servers []string
	for _, r := range c.replicas {
		servers = append(servers, "https://"+r.agentAddr)
	}
	c.agentDir = filepath.Join(dir, "agent")
	agentLog := "ha-single-agent.log"
	if n > 1 {
		agentLog = "ha-agent.log"
	}
	if c.agentLog, err = os.Create(filepath.Join(d.cfg.out, agentLog)); err != nil {
		return c, err
	}
	argv := []string{d.cfg.straitBin, "agent", "--server", strings.Join(servers, ","), "--token", token, "--zones", "us-east-1a",
		"--data-dir", c.agentDir, "--backbone", "plain"}
	if c.agent, err = startProc("strait agent ("+c.label+")", argv, c.agentLog); err != nil {
		return c, err
	}
	go func() {
		for range c.agent.lines {
		}
	}()
	if err := d.waitHostReady(c); err != nil {
		return c, err
	}
	if c.topo, c.cscale, err = buildHATopology(d.ctx, c.replicas[0].srv.url); err != nil {
		return c, fmt.Errorf("%s: building the topology: %w", c.label, err)
	}
	return c, nil
}

// waitHostReady waits until the control plane lists one host, ready.
func (d *driver) waitHostReady(c *controlPlane) error {
	var last string
	err := poll(d.ctx, 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		out, err := c.straitCLI(d.cfg.straitBin, "host", "list", "-o", "json")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = out
		var l nativeapi.HostList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return false, fmt.Errorf("strait host list: %q: %w", out, err)
		}
		return len(l.Hosts) == 1 && l.Hosts[0].State == "ready", nil
	})
	if err != nil {
		return fmt.Errorf("%s: the agent's host is not ready: %w (last: %s)", c.label, err, last)
	}
	return nil
}

// buildHATopology creates figure 10's topology (see the top of this file)
// through the server at url and returns it with the endpoints' subnet.
func buildHATopology(ctx context.Context, url string) (*topology, string, error) {
	t := newTopology(url)
	var err error
	if t.vpc, err = createVPC(ctx, t.pec2); err != nil {
		return t, "", err
	}
	if t.subnetA, err = createSubnet(ctx, t.pec2, t.vpc, "10.0.1.0/24", "a"); err != nil {
		return t, "", err
	}
	lb, err := t.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("bench-ha"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: []string{t.subnetA}})
	if err != nil {
		return t, "", err
	}
	t.lb = *lb.LoadBalancers[0].LoadBalancerArn
	tg, err := t.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("ha"), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(portPlain), VpcId: aws.String(t.vpc), TargetType: elbtypes.TargetTypeEnumInstance})
	if err != nil {
		return t, "", err
	}
	t.tgPlain = *tg.TargetGroups[0].TargetGroupArn
	if _, err := t.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(t.lb), Protocol: elbtypes.ProtocolEnumTcp,
		Port: aws.Int32(portPlain), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(t.tgPlain)}}}); err != nil {
		return t, "", err
	}
	if err := t.createService(ctx); err != nil {
		return t, "", err
	}
	if t.cvpc, err = createVPC(ctx, t.cec2); err != nil {
		return t, "", err
	}
	cscale, err := createSubnet(ctx, t.cec2, t.cvpc, "10.0.16.0/20", "a")
	return t, cscale, err
}

// haEndpoint creates an endpoint through client and polls the same client
// until it is available; it returns the time from the call to its answer and
// to available, and how many attempts the call took (a failed one is
// retried for up to 30 s).
func (d *driver) haEndpoint(c *controlPlane, client *ec2.Client) (id string, created, available time.Duration, attempts int, err error) {
	t0 := time.Now()
	var out *ec2.CreateVpcEndpointOutput
	var errs []string
	for {
		attempts++
		out, err = client.CreateVpcEndpoint(d.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: ec2types.VpcEndpointTypeInterface,
			VpcId: aws.String(c.topo.cvpc), SubnetIds: []string{c.cscale}, ServiceName: aws.String(c.topo.svcName)})
		if err == nil {
			break
		}
		errs = append(errs, err.Error())
		if time.Since(t0) > 30*time.Second || d.ctx.Err() != nil {
			return "", 0, 0, attempts, fmt.Errorf("CreateVpcEndpoint: %v", errs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	created = time.Since(t0)
	id = *out.VpcEndpoint.VpcEndpointId
	err = poll(d.ctx, time.Minute, haPoll, func() (bool, error) {
		o, err := client.DescribeVpcEndpoints(d.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
		if err != nil {
			return false, nil // the replica may be between leaders' terms: poll on
		}
		if len(o.VpcEndpoints) != 1 {
			return false, fmt.Errorf("DescribeVpcEndpoints %s: %d endpoints", id, len(o.VpcEndpoints))
		}
		switch st := strings.ToLower(string(o.VpcEndpoints[0].State)); st {
		case "available":
			return true, nil
		case "failed", "rejected":
			return false, fmt.Errorf("endpoint %s is %s", id, st)
		}
		return false, nil
	})
	if err != nil {
		return id, created, 0, attempts, fmt.Errorf("endpoint %s not available: %w", id, err)
	}
	return id, created, time.Since(t0), attempts, nil
}

// haAvailability times cfg.haEndpoints endpoints created one at a time, from
// CreateVpcEndpoint to available; on the replicas, endpoint i is created and
// polled through replica i mod 3.
func (d *driver) haAvailability(c *controlPlane) error {
	m := d.res.define(metric{Figure: 10, Name: "CreateVpcEndpoint → available", Unit: "ms", Lower: true, Refs: []string{pSingle}})
	d.logf("figure 10: %s: %d endpoints, CreateVpcEndpoint → available", c.label, d.cfg.haEndpoints)
	var all []time.Duration
	for i := range d.cfg.haEndpoints {
		r := c.replicas[i%len(c.replicas)]
		leads := r == c.leader()
		id, created, avail, attempts, err := d.haEndpoint(c, r.ec2)
		if err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		all = append(all, avail)
		d.res.add(m, c.label, i, ms(avail), map[string]any{"id": id, "replica": r.name, "replica_led": leads, "call_ms": ms(created), "attempts": attempts})
	}
	slices.Sort(all)
	d.res.Notes = append(d.res.Notes, fmt.Sprintf("%s: CreateVpcEndpoint → available over %d endpoints: p50 %.1f ms, p99 %.1f ms (max %.1f ms).",
		c.label, len(all), ms(percentile(all, 50)), ms(percentile(all, 99)), ms(percentile(all, 100))))
	return nil
}

// haDescribeRates measures DescribeVpcEndpoints and DescribeVpcs calls/s from
// haDescribeClients concurrent clients of the consumer: against the single
// server, or against one replica that does not lead and spread round-robin
// over the three (alternating, the order rotated by repetition); and the CPU
// time all server processes used per call.
func (d *driver) haDescribeRates(c *controlPlane) error {
	calls := []struct {
		name string
		call func(ctx context.Context, client *ec2.Client) error
	}{
		{"DescribeVpcEndpoints", func(ctx context.Context, client *ec2.Client) error {
			_, err := client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			return err
		}},
		{"DescribeVpcs", func(ctx context.Context, client *ec2.Client) error {
			_, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}},
	}
	type mode struct {
		label   string
		clients []*ec2.Client
		names   []string
	}
	var modes []mode
	if len(c.replicas) == 1 {
		modes = []mode{{pSingle, []*ec2.Client{c.replicas[0].ec2}, []string{c.replicas[0].name}}}
	} else {
		l := c.leader()
		one := c.replicas[0]
		if one == l {
			one = c.replicas[1]
		}
		spread := mode{label: pSpread}
		for _, r := range c.replicas {
			spread.clients = append(spread.clients, r.ec2)
			spread.names = append(spread.names, r.name)
		}
		modes = []mode{{pOneReplica, []*ec2.Client{one.ec2}, []string{one.name}}, spread}
	}
	var pids []int
	for _, r := range c.replicas {
		pids = append(pids, r.srv.pid())
	}
	d.logf("figure 10: %s: Describe* calls/s, %d clients", c.label, haDescribeClients)
	for rep := range d.cfg.haDescribeReps {
		for _, call := range calls {
			rateM := d.res.define(metric{Figure: 10, Name: fmt.Sprintf("%s calls/s, %d clients", call.name, haDescribeClients), Unit: "calls/s", Refs: []string{pSingle, pOneReplica}})
			cpuM := d.res.define(metric{Figure: 10, Name: "server CPU per " + call.name + " call (all replicas)", Unit: "µs", Lower: true, Refs: []string{pSingle, pOneReplica}})
			for i := range modes {
				md := modes[(i+rep)%len(modes)]
				var next atomic.Uint64
				cpu0, err := processesCPU(pids)
				if err != nil {
					return err
				}
				n, lat, err := rate(d.ctx, haDescribeClients, d.cfg.describeDur, func(ctx context.Context) error {
					return call.call(ctx, md.clients[next.Add(1)%uint64(len(md.clients))])
				})
				if err != nil {
					return fmt.Errorf("%s: %s: %w", md.label, call.name, err)
				}
				cpu1, err := processesCPU(pids)
				if err != nil {
					return err
				}
				total := n * d.cfg.describeDur.Seconds()
				raw := map[string]any{"replicas": md.names, "clients": haDescribeClients, "seconds": d.cfg.describeDur.Seconds(),
					"call_ms_p50": ms(percentile(lat, 50)), "call_ms_p99": ms(percentile(lat, 99)), "server_cpu_ms": ms(cpu1 - cpu0)}
				d.res.add(rateM, md.label, rep, n, raw)
				if total > 0 {
					d.res.add(cpuM, md.label, rep, float64((cpu1-cpu0).Microseconds())/total, raw)
				}
			}
		}
	}
	return nil
}

// haRecovery kills the leading replica (kill -9): cfg.haKills times with
// etcd's leadership moved to it first (if it had not got it), then
// cfg.haKillsLease times with etcd's leadership moved to another replica first.
func (d *driver) haRecovery(c *controlPlane) error {
	for rep := range d.cfg.haKills {
		if err := d.haKill(c, rep, true); err != nil {
			return err
		}
	}
	for rep := range d.cfg.haKillsLease {
		if err := d.haKill(c, rep, false); err != nil {
			return err
		}
	}
	return nil
}

// haKill kills the leading replica (kill -9) once, with etcd's leader the
// same replica (etcdToo) or another: it times until another replica's log
// says it leads, and until an endpoint created through a surviving replica
// right after the kill is available (reconcile resumed: the new leader's
// reconciler and the agent host, which has to find the new leader, realized
// it); then starts the killed replica again and waits until the control
// plane is whole (an endpoint created through it becomes available).
func (d *driver) haKill(c *controlPlane, rep int, etcdToo bool) error {
	leadM := d.res.define(metric{Figure: 10, Name: "leader kill -9 → another replica leads", Unit: "s", Lower: true})
	availM := d.res.define(metric{Figure: 10, Name: "leader kill -9 → an endpoint created after it available", Unit: "s", Lower: true})
	label := pKillBoth
	if !etcdToo {
		label = pKillLease
	}
	l, err := c.waitLeader(d.ctx, nil, time.Minute)
	if err != nil {
		return err
	}
	var survivor *haReplica
	for _, r := range c.replicas {
		if r != l {
			survivor = r
			break
		}
	}
	etcdWas := etcdLeaderName(d.ctx, c)
	want := l
	if !etcdToo {
		want = survivor
	}
	if etcdWas != want.name {
		if err := moveEtcdLeader(d.ctx, c, etcdWas, want.name); err != nil {
			return err
		}
	}
	etcdLeader := etcdLeaderName(d.ctx, c)
	if etcdLeader != want.name {
		return fmt.Errorf("etcd's leader is %q after moving it to %s", etcdLeader, want.name)
	}
	d.logf("figure 10: kill -9 of the leader %s (etcd's leader: %s, before %s), %s", l.name, etcdLeader, etcdWas, label)
	killed := time.Now()
	l.srv.proc.signal(syscall.SIGKILL)
	<-l.srv.proc.done
	l.readLog()
	l.leads = false
	type endpointResult struct {
		id          string
		created     time.Duration
		availableAt time.Time
		attempts    int
		err         error
	}
	ep := make(chan endpointResult, 1)
	go func() {
		var e endpointResult
		e.id, e.created, _, e.attempts, e.err = d.haEndpoint(c, survivor.ec2)
		e.availableAt = time.Now()
		ep <- e
	}()
	next, err := c.waitLeader(d.ctx, l, time.Minute)
	e := <-ep
	if err != nil {
		return err
	}
	if e.err != nil {
		return fmt.Errorf("after the kill of %s: %w", l.name, e.err)
	}
	leadS := next.leadsAt.Sub(killed).Seconds()   // when its log line was read (polled every 10 ms)
	availS := e.availableAt.Sub(killed).Seconds() // the create call was made right after the kill
	raw := map[string]any{"killed": l.name, "etcd_leader": etcdLeader, "etcd_leader_before_moving": etcdWas, "new_leader": next.name,
		"endpoint": e.id, "through": survivor.name, "create_call_s": e.created.Seconds(), "create_attempts": e.attempts}
	d.res.add(leadM, label, rep, leadS, raw)
	d.res.add(availM, label, rep, availS, raw)
	d.logf("figure 10: %s leads %.2f s after the kill; the endpoint created through %s available after %.2f s", next.name, leadS, survivor.name, availS)
	t0 := time.Now()
	if err := l.srv.start(d.ctx); err != nil {
		return fmt.Errorf("restarting %s: %w", l.name, err)
	}
	raw["restart_healthy_s"] = time.Since(t0).Seconds()
	if _, _, _, _, err := d.haEndpoint(c, l.ec2); err != nil {
		return fmt.Errorf("after restarting %s: %w", l.name, err)
	}
	return d.sleep(time.Second)
}

// moveEtcdLeader moves the etcd cluster's leadership from the member named
// from to the one named to (etcd's MoveLeader, sent to the leader) and waits
// until to leads.
func moveEtcdLeader(ctx context.Context, c *controlPlane, from, to string) error {
	var url string
	for _, r := range c.replicas {
		if r.name == from {
			url = r.etcdURL
		}
	}
	if url == "" {
		return fmt.Errorf("moving etcd's leadership: no member %q", from)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ml, err := cli.MemberList(cctx)
	if err != nil {
		return fmt.Errorf("moving etcd's leadership: %w", err)
	}
	i := slices.IndexFunc(ml.Members, func(m *etcdserverpb.Member) bool { return m.Name == to })
	if i < 0 {
		return fmt.Errorf("moving etcd's leadership: no member %q in %v", to, ml.Members)
	}
	if _, err := cli.MoveLeader(cctx, ml.Members[i].ID); err != nil {
		return fmt.Errorf("moving etcd's leadership from %s to %s: %w", from, to, err)
	}
	return poll(ctx, 10*time.Second, 50*time.Millisecond, func() (bool, error) { return etcdLeaderName(ctx, c) == to, nil })
}

// etcdLeaderName is the name of the replica whose etcd member leads the etcd
// cluster, "" if unknown.
func etcdLeaderName(ctx context.Context, c *controlPlane) string {
	for _, r := range c.replicas {
		if r.etcdURL == "" || !r.alive() {
			continue
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{r.etcdURL}, DialTimeout: 2 * time.Second})
		if err != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := cli.Status(sctx, r.etcdURL)
		cancel()
		cli.Close()
		if err != nil {
			continue
		}
		if st.Header.MemberId == st.Leader {
			return r.name
		}
		// Another member leads: find it by its client URL.
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		cli, err = clientv3.New(clientv3.Config{Endpoints: []string{r.etcdURL}, DialTimeout: 2 * time.Second})
		if err != nil {
			cancel()
			continue
		}
		ml, err := cli.MemberList(mctx)
		cancel()
		cli.Close()
		if err != nil {
			continue
		}
		for _, m := range ml.Members {
			if m.ID == st.Leader {
				return m.Name
			}
		}
	}
	return ""
}

// haNotes states figure 10's recovery against the target.
func (d *driver) haNotes() {
	for _, p := range []string{pKillBoth, pKillLease} {
		lead := d.res.values("leader kill -9 → another replica leads", p)
		avail := d.res.values("leader kill -9 → an endpoint created after it available", p)
		if len(avail) == 0 || len(lead) != len(avail) {
			continue
		}
		var each []string
		for i := range avail {
			each = append(each, fmt.Sprintf("%.2f / %.2f", lead[i], avail[i]))
		}
		sl, sa := summarize(lead), summarize(avail)
		d.res.Notes = append(d.res.Notes, fmt.Sprintf("Recovery from the leader's death (kill -9), %s, %d times (another replica leads / an endpoint created right after the kill available, s): %s; medians %.2f s and %.2f s: %s the issue's 5 s for reconcile to resume.",
			p, len(avail), strings.Join(each, ", "), sl.Median, sa.Median, map[bool]string{true: "within", false: "over"}[sa.Median <= 5]))
	}
	d.res.Notes = append(d.res.Notes, "Why: a replica that does not lead probes the leader's agent listener every 250 ms and, after three refused connections in a row, revokes the dead leader's session lease once it has at most a second left (leader.Depose: a live leader renews it every second), so the next candidate leads up to two seconds before the lease's TTL (3 s) would run out. When the killed process was also etcd's leader, etcd first has to elect a new leader (its election timeout) before the lease can be revoked or anything written (the JSON's create_call_s: how long the CreateVpcEndpoint made right after the kill took). From leading to the endpoint available: the new leader's reconciler starts a term, and the agent host, turned away by the replica it reported to (NotLeader), reconnects to it and reports; the reconciler wakes on writes through any replica (the store's watch) and on the agent's report (internal/reconcile Run; the JSON's replica_led says which replica each endpoint was created through).")
}

// stopControlPlane stops the agent host (and removes its data plane: strait
// down) and the server processes, all at once so that the replicas keep
// their quorum while they stop.
func (d *driver) stopControlPlane(c *controlPlane) error {
	var errs []error
	if c.agent != nil {
		c.agent.stop(30 * time.Second)
		c.agent = nil
	}
	if c.agentLog != nil {
		c.agentLog.Close()
		c.agentLog = nil
	}
	if c.agentDir != "" {
		if _, err := os.Stat(c.agentDir); err == nil {
			if out, err := exec.Command(d.cfg.straitBin, "down", "--data-dir", c.agentDir).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("strait down --data-dir %s: %v: %s", c.agentDir, err, out))
			}
			if left, _ := filepath.Glob("/var/run/netns/strait-" + netns.TagFor(c.agentDir) + "-*"); len(left) > 0 {
				errs = append(errs, fmt.Errorf("%s: the agent's namespaces left behind: %v", c.label, left))
			}
		}
		c.agentDir = ""
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, r := range c.replicas {
		if r.srv.proc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.srv.shutdown(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s %s: %w", c.label, r.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	c.replicas = nil
	return errors.Join(errs...)
}

// haCleanup stops what figure 10 left running (after a failure) and removes
// its directory.
func (d *driver) haCleanup() error {
	var errs []error
	for _, c := range d.planes {
		errs = append(errs, d.stopControlPlane(c))
	}
	killAll(nil) // anything else it started
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return errors.Join(errs...)
}
