package main

import (
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// failoverRaw is what one failover repetition saw.
type failoverRaw struct {
	Client      cpsResult `json:"client"`
	KilledAfter float64   `json:"killed_after_s"`
	UnhealthyS  float64   `json:"unhealthy_after_kill_s"`
	Reason      string    `json:"reason"`
	// Failed tests by when they started: before C's process was gone (in
	// flight at the kill), after that until DescribeTargetHealth said C is
	// unhealthy, and after that.
	InFlight        int64 `json:"failed_in_flight"`
	BeforeUnhealthy int64 `json:"failed_after_kill_before_unhealthy"`
	AfterUnhealthy  int64 `json:"failed_after_unhealthy"`
}

// failoverCase is one path of figure 6: the two-target group behind a port.
type failoverCase struct {
	path   string
	port   int
	group  func(*topology) string
	server string // C's peer server on that port, in d.servers
}

// failoverCases are figure 6's paths: the kernel path (7002) and the relay (7004).
var failoverCases = []failoverCase{
	{pStrait, portFailover, func(t *topology) string { return t.tgFail }, "c:7002"},
	{pRelay, portRelayFO, func(t *topology) string { return t.tgRelayFail }, "c:7004"},
}

// failoverFigure is figure 6, on the kernel path and on the relay, the order
// alternating by repetition: a client in the consumer instance opens short
// connections (4 workers) through the endpoint to a two-target group (B and C,
// health checks every 5 s, 2 failures make unhealthy); C's server process on
// that port is killed; DescribeTargetHealth is polled every 50 ms until C is
// unhealthy. The client's failures (by start: in flight at the kill, after the
// kill until unhealthy, after unhealthy) and slowest connection, and the time
// to unhealthy, are recorded. C's server is restarted and both targets are
// healthy before each repetition.
func (d *driver) failoverFigure() error {
	r := d.res
	failedOld := r.define(metric{Figure: 6, Name: "failed client connections in flight at the kill", Unit: "connections", Lower: true})
	failedNew := r.define(metric{Figure: 6, Name: "failed client connections started after the kill, before unhealthy", Unit: "connections", Lower: true})
	failedLate := r.define(metric{Figure: 6, Name: "failed client connections started after unhealthy", Unit: "connections", Lower: true})
	unhealthy := r.define(metric{Figure: 6, Name: "kill → target unhealthy", Unit: "s", Lower: true})
	slowest := r.define(metric{Figure: 6, Name: "slowest client connection", Unit: "ms", Lower: true})
	for rep := range d.cfg.failoverReps {
		for i := range failoverCases {
			c := failoverCases[(i+rep)%len(failoverCases)]
			raw, err := d.failoverOnce(c)
			if err != nil {
				return fmt.Errorf("%s: %w", c.path, err)
			}
			r.add(failedOld, c.path, rep, float64(raw.InFlight), raw)
			r.add(failedNew, c.path, rep, float64(raw.BeforeUnhealthy), raw)
			r.add(failedLate, c.path, rep, float64(raw.AfterUnhealthy), raw)
			r.add(unhealthy, c.path, rep, raw.UnhealthyS, raw)
			r.add(slowest, c.path, rep, raw.Client.MaxMs, raw)
			if raw.Client.Failed > 0 {
				r.Notes = append(r.Notes, fmt.Sprintf("failover over %s, repetition %d: %d of %d client connections failed (%d in flight at the kill, %d started after it before unhealthy, %d after unhealthy; C unhealthy after %.1f s): %v",
					c.path, rep, raw.Client.Failed, raw.Client.Failed+raw.Client.OK, raw.InFlight, raw.BeforeUnhealthy, raw.AfterUnhealthy, raw.UnhealthyS, raw.Client.Errors))
			}
		}
	}
	return nil
}

// failoverOnce runs one repetition over one path.
func (d *driver) failoverOnce(c failoverCase) (failoverRaw, error) {
	t := d.topo
	group := c.group(t)
	raw := failoverRaw{KilledAfter: 2}
	if d.servers[c.server] == nil {
		if err := d.startPeerServer(c.server, t.c, fmt.Sprintf(":%d", c.port), "c", false); err != nil {
			return raw, err
		}
	}
	if err := d.waitTargets(group, map[string]elbtypes.TargetHealthStateEnum{t.b: "healthy", t.c: "healthy"}, time.Minute); err != nil {
		return raw, err
	}
	addr := fmt.Sprintf("%s:%d", t.endpointIP, c.port)
	client, err := startProc("failover client", d.peerArgv(t.client, "cps", "--addr", addr, "--conc", "4", "--duration", "0"), nil)
	if err != nil {
		return raw, err
	}
	defer client.stop(5 * time.Second)
	mark := func(at time.Time) error {
		_, err := client.stdin.Write([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "\n"))
		return err
	}
	time.Sleep(2 * time.Second)
	killed := time.Now()
	d.servers[c.server].signal(syscall.SIGKILL)
	<-d.servers[c.server].done
	dead := time.Now() // C's process is gone: later connections are new
	delete(d.servers, c.server)
	err = d.waitTargets(group, map[string]elbtypes.TargetHealthStateEnum{t.c: "unhealthy"}, time.Minute)
	seen := time.Now()
	raw.UnhealthyS = seen.Sub(killed).Seconds()
	if err != nil {
		return raw, err
	}
	if err := mark(dead); err != nil {
		return raw, err
	}
	if err := mark(seen); err != nil {
		return raw, err
	}
	time.Sleep(time.Second)
	client.stdin.Close()
	line, err := client.line(30 * time.Second)
	if err != nil {
		return raw, err
	}
	if err := decode([]byte(line), &raw.Client); err != nil {
		return raw, fmt.Errorf("failover client: %q: %w", line, err)
	}
	if len(raw.Client.FailedByPhase) != 3 {
		return raw, fmt.Errorf("failover client: failures by phase %v, want 3 phases", raw.Client.FailedByPhase)
	}
	raw.InFlight, raw.BeforeUnhealthy, raw.AfterUnhealthy = raw.Client.FailedByPhase[0], raw.Client.FailedByPhase[1], raw.Client.FailedByPhase[2]
	raw.Reason = d.targetReason(group, t.c)
	return raw, nil
}

// waitTargets polls DescribeTargetHealth of a group every 50 ms until each
// given target is in its state.
func (d *driver) waitTargets(group string, want map[string]elbtypes.TargetHealthStateEnum, timeout time.Duration) error {
	var last string
	err := poll(d.ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		h, err := d.topo.elb.DescribeTargetHealth(d.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(group)})
		if err != nil {
			return false, err
		}
		ok := 0
		last = ""
		for _, th := range h.TargetHealthDescriptions {
			last += fmt.Sprintf("%s=%s ", *th.Target.Id, th.TargetHealth.State)
			if st, wanted := want[*th.Target.Id]; wanted && th.TargetHealth.State == st {
				ok++
			}
		}
		return ok == len(want), nil
	})
	if err != nil {
		return fmt.Errorf("targets %v: %w (last: %s)", want, err, last)
	}
	return nil
}

// targetReason is the reason code DescribeTargetHealth gives for a target of a group.
func (d *driver) targetReason(group, id string) string {
	h, err := d.topo.elb.DescribeTargetHealth(d.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(group)})
	if err != nil {
		return err.Error()
	}
	for _, th := range h.TargetHealthDescriptions {
		if *th.Target.Id == id && th.TargetHealth.Reason != "" {
			return string(th.TargetHealth.Reason)
		}
	}
	return ""
}
