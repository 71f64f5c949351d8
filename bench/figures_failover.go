package main

import (
	"fmt"
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
	InFlight    int       `json:"failed_in_flight"` // failed tests started before C's process was gone
}

// failoverFigure is figure 6: a client in the consumer instance opens short
// connections (4 workers) through the endpoint to the two-target group (B and C,
// health checks every 5 s, 2 failures make unhealthy); C's server process is
// killed; DescribeTargetHealth is polled every 50 ms until C is unhealthy. The
// client's failures (apart: those started before C's process was reaped, in
// flight at the kill, and those started after) and slowest connection, and the time to unhealthy, are
// recorded. C's server is restarted and both targets are healthy before each
// repetition.
func (d *driver) failoverFigure() error {
	r, t := d.res, d.topo
	failedNew := r.define(metric{Figure: 6, Name: "failed client connections started after the kill", Unit: "connections", Lower: true})
	failedOld := r.define(metric{Figure: 6, Name: "failed client connections in flight at the kill", Unit: "connections", Lower: true})
	unhealthy := r.define(metric{Figure: 6, Name: "kill → target unhealthy", Unit: "s", Lower: true})
	slowest := r.define(metric{Figure: 6, Name: "slowest client connection", Unit: "ms", Lower: true})
	addr := fmt.Sprintf("%s:%d", t.endpointIP, portFailover)
	for rep := range d.cfg.failoverReps {
		if d.servers["c:7002"] == nil {
			if err := d.startPeerServer("c:7002", t.c, fmt.Sprintf(":%d", portFailover), "c", false); err != nil {
				return err
			}
		}
		if err := d.waitTargets(map[string]elbtypes.TargetHealthStateEnum{t.b: "healthy", t.c: "healthy"}, time.Minute); err != nil {
			return err
		}
		client, err := startProc("failover client", d.peerArgv(t.client, "cps", "--addr", addr, "--conc", "4", "--duration", "0"), nil)
		if err != nil {
			return err
		}
		raw := failoverRaw{KilledAfter: 2}
		time.Sleep(2 * time.Second)
		killed := time.Now()
		d.servers["c:7002"].signal(syscall.SIGKILL)
		<-d.servers["c:7002"].done
		dead := time.Now() // C's process is gone: later connections are new
		delete(d.servers, "c:7002")
		err = d.waitTargets(map[string]elbtypes.TargetHealthStateEnum{t.c: "unhealthy"}, time.Minute)
		raw.UnhealthyS = time.Since(killed).Seconds()
		time.Sleep(time.Second)
		client.stdin.Close()
		line, lerr := client.line(30 * time.Second)
		client.stop(5 * time.Second)
		if err != nil {
			return err
		}
		if lerr != nil {
			return lerr
		}
		if err := decode([]byte(line), &raw.Client); err != nil {
			return fmt.Errorf("failover client: %q: %w", line, err)
		}
		raw.Reason = d.targetReason(t.c)
		for _, us := range raw.Client.FailedStarts {
			if us < dead.UnixMicro() {
				raw.InFlight++
			}
		}
		r.add(failedNew, pStrait, rep, float64(raw.Client.Failed)-float64(raw.InFlight), raw)
		r.add(failedOld, pStrait, rep, float64(raw.InFlight), raw)
		r.add(unhealthy, pStrait, rep, raw.UnhealthyS, raw)
		r.add(slowest, pStrait, rep, raw.Client.MaxMs, raw)
		if raw.Client.Failed > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("failover repetition %d: %d of %d client connections failed: %v", rep, raw.Client.Failed, raw.Client.Failed+raw.Client.OK, raw.Client.Errors))
		}
	}
	return nil
}

// waitTargets polls DescribeTargetHealth of the failover group every 50 ms until
// each given target is in its state.
func (d *driver) waitTargets(want map[string]elbtypes.TargetHealthStateEnum, timeout time.Duration) error {
	var last string
	err := poll(d.ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		h, err := d.topo.elb.DescribeTargetHealth(d.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.topo.tgFail)})
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

// targetReason is the reason code DescribeTargetHealth gives for a target.
func (d *driver) targetReason(id string) string {
	h, err := d.topo.elb.DescribeTargetHealth(d.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.topo.tgFail)})
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
