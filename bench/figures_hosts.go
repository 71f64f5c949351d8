package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/nativeapi"
)

// Figure 8 (issue 15): the endpoint path across the backbone between two hosts
// against direct instance-to-instance traffic across the same hosts, once per
// backbone method. Machines are network namespaces on a bridge (datacenter):
// the server in "srv" (its API on a link to the root namespace, its agent
// listener on the underlay), `strait agent` for us-east-1a in "h1" and for
// us-east-1b in "h2".
//
//	provider VPC 10.0.0.0/16: subnet a 10.0.1.0/24 (us-east-1a, h1) with instance
//	A, subnet a2 10.0.3.0/24 (us-east-1a, h1) with A2, subnet b 10.0.2.0/24
//	(us-east-1b, h2) with B; an internal NLB in a and b with cross-zone load
//	balancing on, listener 7000 → B, an endpoint service for the consumer.
//	consumer VPC 10.0.0.0/16: subnet 10.0.1.0/24 (us-east-1a, h1) with the client
//	instance and the interface endpoint.
//
// The endpoint path runs client (h1) → endpoint ENI (h1) → NLB node a (h1) →
// backbone → B (h2), translated in the kernel; direct across hosts A (h1) → B
// (h2); direct on one host A → A2 (h1, through the VPC router), for scale.

// Figure 8's paths.
const (
	pOneHost      = "direct, one host"
	pAcross       = "direct across hosts"
	pAcrossStrait = "strait across hosts (kernel)"
)

// hostsRefs are the paths figure 8's ratios compare against.
var hostsRefs = []string{pAcross, pOneHost}

// agentHost is a machine running `strait agent` for one zone.
type agentHost struct {
	name, zone string
	m          *dcMachine
	dir        string
	log        *os.File
	p          *proc
}

// hostsBench is figure 8's setup, kept for cleanup.
type hostsBench struct {
	dc     *datacenter
	agents []*agentHost
	a2IP   string
}

// hostsFigure builds the machines, the server and the agents, the topology,
// and measures figure 8 for each backbone mode; d is a driver of its own
// (d.res is figure 8's results).
func (d *driver) hostsFigure() error {
	h := &hostsBench{}
	d.hosts = h
	var err error
	if d.tmp, err = os.MkdirTemp("", "strait-bench-hosts-"); err != nil {
		return err
	}
	if h.dc, err = newDatacenter(); err != nil {
		return err
	}
	srvM, err := h.dc.machine("srv")
	if err != nil {
		return err
	}
	if err := h.dc.linkRoot(srvM); err != nil {
		return err
	}
	for _, a := range []struct{ name, zone string }{{"h1", "us-east-1a"}, {"h2", "us-east-1b"}} {
		m, err := h.dc.machine(a.name)
		if err != nil {
			return err
		}
		h.agents = append(h.agents, &agentHost{name: a.name, zone: a.zone, m: m, dir: filepath.Join(d.tmp, a.name)})
	}
	logf, err := os.Create(filepath.Join(d.cfg.out, "hosts-server.log"))
	if err != nil {
		return err
	}
	agentListen := netip.AddrPortFrom(srvM.addr, 8788).String()
	d.logf("figure 8: strait server in %s (API %s, agents %s)", srvM.netns, srvM.rootAddr, agentListen)
	d.srv, err = startServerIn(d.ctx, d.cfg.straitBin, filepath.Join(d.tmp, "data"), logf, srvM.nsenter(),
		netip.AddrPortFrom(srvM.rootAddr, 8080).String(), "--agent-listen", agentListen)
	if err != nil {
		return err
	}
	for _, a := range h.agents {
		token, err := d.straitCLI("host", "token", "create", "--ttl", "30m")
		if err != nil {
			return err
		}
		if err := d.startAgent(a, "https://"+agentListen, backbone.ModeAuto, token); err != nil {
			return err
		}
	}
	if _, err := d.waitHosts(backbone.ModeAuto); err != nil {
		return err
	}
	if d.topo, h.a2IP, err = buildHostsTopology(d.ctx, d.srv.url, d.logf); err != nil {
		return fmt.Errorf("building the topology: %w", err)
	}
	if err := d.checkPlacement(); err != nil {
		return err
	}
	t := d.topo
	for _, s := range []struct{ name, inst, id string }{{"b:7000", t.b, "b"}, {"a2:7000", t.c, "a"}} {
		if err := d.startPeerServer(s.name, s.inst, fmt.Sprintf(":%d", portPlain), s.id, false); err != nil {
			return err
		}
	}
	d.paths = []path{
		{pOneHost, t.a, fmt.Sprintf("%s:%d", h.a2IP, portPlain)},
		{pAcross, t.a, fmt.Sprintf("%s:%d", t.bIP, portPlain)},
		{pAcrossStrait, t.client, fmt.Sprintf("%s:%d", t.endpointIP, portPlain)},
	}
	d.res.Paths = d.paths
	kernelWG := "does not have WireGuard, so Strait's encrypted backbone (auto) is wireguard-go (WireGuard in the agent's process on a TUN device). "
	if backbone.KernelWireGuard() {
		kernelWG = "has WireGuard, so Strait's encrypted backbone (auto) is the kernel's WireGuard. "
	}
	d.res.Notes = append(d.res.Notes, "This kernel "+kernelWG+
		fmt.Sprintf("Both hosts and the server are network namespaces of this one machine: the underlay is a bridge, and every byte across hosts is also carried by this machine's %d CPUs.", d.res.Machine.CPUs))
	for i, mode := range []string{backbone.ModeAuto, backbone.ModePlain} {
		if d.ctx.Err() != nil {
			return errStopped
		}
		if i > 0 {
			for _, a := range h.agents {
				a.p.stop(30 * time.Second)
				a.log.Close()
				if err := d.startAgent(a, "https://"+agentListen, mode, ""); err != nil {
					return err
				}
			}
		}
		method, err := d.waitHosts(mode)
		if err != nil {
			return err
		}
		if err := d.waitPaths(2 * time.Minute); err != nil {
			return fmt.Errorf("backbone %s: %w", method, err)
		}
		load0, t0 := loadAvg(), time.Now()
		d.logf("figure 8, backbone %s (--backbone %s)", method, mode)
		set := metricSet{r: d.res, fig: 8, suffix: ", backbone " + method, refs: hostsRefs}
		tests := []dataTest{agentsCPUPerMB(set, bulkTest(set, 1)), rrTest(set), cpsTest(set, 1, "sequential")}
		if err := d.runTests(d.res, d.paths, tests, method+": "); err != nil {
			return err
		}
		d.res.Notes = append(d.res.Notes, fmt.Sprintf("Backbone %s (agents with --backbone %s): measured %s–%s UTC, load average %s at its start, %s at its end.",
			method, mode, t0.UTC().Format("15:04:05"), time.Now().UTC().Format("15:04:05"), load0, loadAvg()))
	}
	return nil
}

// agentsCPUPerMB adds to a bulk test the CPU time both agents used per MB
// (10^6 bytes) carried: wireguard-go encrypts and decrypts in them; the plain
// backbone's VXLAN is the kernel's (work in softirq context may be charged to
// whichever process runs).
func agentsCPUPerMB(s metricSet, t dataTest) dataTest {
	m := s.define("agents' CPU per MB carried, 1 stream", "ms", true, nil)
	t.recordCPU = func(r *results, p string, rep int, out []byte, used time.Duration) error {
		var b bulkResult
		if err := decode(out, &b); err != nil {
			return err
		}
		if b.Bytes > 0 {
			r.add(m, p, rep, float64(used.Microseconds())/1e3/(float64(b.Bytes)/1e6), map[string]any{"cpu_ms": used.Milliseconds(), "bytes": b.Bytes})
		}
		return nil
	}
	return t
}

// startAgent runs `strait agent` in a's machine with the backbone mode
// (enrolling with token unless it is "").
func (d *driver) startAgent(a *agentHost, server, mode, token string) error {
	var err error
	if a.log, err = os.OpenFile(filepath.Join(d.cfg.out, "hosts-agent-"+a.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return err
	}
	argv := append(a.m.nsenter(), d.cfg.straitBin, "agent", "--server", server, "--zones", a.zone, "--data-dir", a.dir, "--backbone", mode)
	if token != "" {
		argv = append(argv, "--token", token)
	}
	a.p, err = startProc("strait agent "+a.name, argv, a.log)
	if err != nil {
		return err
	}
	go func() {
		for range a.p.lines {
		}
	}()
	return nil
}

// straitCLI runs a strait command against the server's admin socket and
// returns its trimmed output.
func (d *driver) straitCLI(args ...string) (string, error) {
	out, err := exec.Command(d.cfg.straitBin, append(args, "--data-dir", d.srv.dataDir)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("strait %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// waitHosts waits until every agent's host is listed ready with its zone and
// a backbone method of mode, and returns that method.
func (d *driver) waitHosts(mode string) (string, error) {
	var method string
	var last []nativeapi.Host
	err := poll(d.ctx, 2*time.Minute, 500*time.Millisecond, func() (bool, error) {
		out, err := d.straitCLI("host", "list", "-o", "json")
		if err != nil {
			return false, err
		}
		var l nativeapi.HostList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return false, fmt.Errorf("strait host list: %q: %w", out, err)
		}
		last = l.Hosts
		for _, a := range d.hosts.agents {
			i := slices.IndexFunc(l.Hosts, func(h nativeapi.Host) bool {
				return slices.Equal(h.Zones, []string{a.zone}) && h.BackboneAddress == a.m.addr.String()
			})
			if i < 0 || l.Hosts[i].State != "ready" {
				return false, nil
			}
			m := l.Hosts[i].BackboneMethod
			plain := m == string(backbone.MethodPlain)
			if m == "none" || plain != (mode == backbone.ModePlain) || (method != "" && m != method) {
				return false, nil
			}
			method = m
		}
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for both hosts ready with --backbone %s: %w (last: %+v)", mode, err, last)
	}
	return method, nil
}

// waitPaths waits until every path carries a connection (after the agents
// started, the backbone needs its handshakes and the target its health checks).
func (d *driver) waitPaths(timeout time.Duration) error {
	for _, p := range d.paths {
		var last cpsResult
		err := poll(d.ctx, timeout, 500*time.Millisecond, func() (bool, error) {
			err := runJSON(d.ctx, "check "+p.Name, d.peerArgv(p.Client, "cps", "--addr", p.Addr, "--conc", "1", "--duration", "200ms"), 30*time.Second, &last)
			return err == nil && last.OK > 0, nil
		})
		if err != nil {
			return fmt.Errorf("path %s carries no connection: %w (%v)", p.Name, err, last.Errors)
		}
	}
	return nil
}

// checkPlacement checks that the instances run where figure 8 needs them: A,
// A2 and the client on h1, B on h2.
func (d *driver) checkPlacement() error {
	t, h := d.topo, d.hosts
	for id, a := range map[string]*agentHost{t.a: h.agents[0], t.c: h.agents[0], t.client: h.agents[0], t.b: h.agents[1]} {
		name, err := netns.InstanceNamespace(id)
		if err != nil || !strings.HasPrefix(name, "strait-"+netns.TagFor(a.dir)+"-") {
			return fmt.Errorf("instance %s is in namespace %q (%v), want one of %s's", id, name, err, a.name)
		}
	}
	return nil
}

// hostsCleanup stops the agents and the server, runs `strait down` in each
// machine, checks that none of their namespaces is left and removes the
// machines.
func (d *driver) hostsCleanup() error {
	var srv *proc
	if d.srv != nil {
		srv = d.srv.proc
	}
	killAll(srv) // peers and agents (SIGTERM); the server gets its own graceful stop
	var errs []error
	if d.srv != nil {
		errs = append(errs, d.srv.shutdown()) // its strait down, in its machine
	}
	if h := d.hosts; h != nil {
		for _, a := range h.agents {
			if a.log != nil {
				a.log.Close()
			}
			if _, err := os.Stat(a.dir); err != nil {
				continue // never started
			}
			down := append(a.m.nsenter(), d.cfg.straitBin, "down", "--data-dir", a.dir)
			if out, err := exec.Command(down[0], down[1:]...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("strait down --data-dir %s in %s: %v: %s", a.dir, a.m.netns, err, out))
			}
			if left, _ := filepath.Glob("/var/run/netns/strait-" + netns.TagFor(a.dir) + "-*"); len(left) > 0 {
				errs = append(errs, fmt.Errorf("%s: namespaces left behind: %v", a.name, left))
			}
		}
		if h.dc != nil {
			errs = append(errs, h.dc.close())
		}
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return errors.Join(errs...)
}

// buildHostsTopology creates figure 8's topology (see the top of this file);
// the topology's c is A2, whose address is returned.
func buildHostsTopology(ctx context.Context, url string, logf func(string, ...any)) (*topology, string, error) {
	t := newTopology(url)
	var err error
	if t.vpc, err = createVPC(ctx, t.pec2); err != nil {
		return t, "", err
	}
	var subnetA2 string
	for _, s := range []struct {
		id         *string
		cidr, zone string
	}{{&t.subnetA, "10.0.1.0/24", "a"}, {&t.subnetB, "10.0.2.0/24", "b"}, {&subnetA2, "10.0.3.0/24", "a"}} {
		if *s.id, err = createSubnet(ctx, t.pec2, t.vpc, s.cidr, s.zone); err != nil {
			return t, "", err
		}
	}
	if err := t.openPorts(ctx, portPlain, portPlain); err != nil {
		return t, "", err
	}
	logf("provider VPC %s, launching instances on both hosts", t.vpc)
	var a2IP string
	if t.a, t.aIP, err = runInstance(ctx, t.pec2, t.subnetA); err != nil {
		return t, "", err
	}
	if t.c, a2IP, err = runInstance(ctx, t.pec2, subnetA2); err != nil {
		return t, "", err
	}
	if t.b, t.bIP, err = runInstance(ctx, t.pec2, t.subnetB); err != nil {
		return t, "", err
	}
	lb, err := t.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("bench-hosts"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: []string{t.subnetA, t.subnetB}})
	if err != nil {
		return t, "", err
	}
	t.lb = *lb.LoadBalancers[0].LoadBalancerArn
	// The endpoint reaches node a (h1); B is in b (h2): node a forwards across
	// zones, hence hosts.
	if _, err := t.elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(t.lb),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("true")}}}); err != nil {
		return t, "", err
	}
	if t.tgPlain, err = t.targetGroup(ctx, "plain", portPlain, nil, t.b); err != nil {
		return t, "", err
	}
	if err := t.createService(ctx); err != nil {
		return t, "", err
	}
	if t.cvpc, err = createVPC(ctx, t.cec2); err != nil {
		return t, "", err
	}
	if t.csub, err = createSubnet(ctx, t.cec2, t.cvpc, "10.0.1.0/24", "a"); err != nil {
		return t, "", err
	}
	if t.client, _, err = runInstance(ctx, t.cec2, t.csub); err != nil {
		return t, "", err
	}
	if t.endpoint, t.endpointIP, err = t.createEndpoint(ctx, t.csub); err != nil {
		return t, "", err
	}
	if _, err := t.waitEndpoints(ctx, []string{t.endpoint}, "available", 60*time.Second); err != nil {
		return t, "", err
	}
	logf("endpoint %s at %s (us-east-1a, h1) to B %s (us-east-1b, h2)", t.endpoint, t.endpointIP, t.bIP)
	return t, a2IP, nil
}
