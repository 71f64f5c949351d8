package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// scaleRaw is what the scale figure saw.
type scaleRaw struct {
	Endpoints     int        `json:"endpoints"`
	CreateCallsS  float64    `json:"create_calls_seconds"`
	AllAvailableS float64    `json:"all_available_seconds"`
	RSSKiB        [3]float64 `json:"rss_kib_before_with_after"`
	FDs           [3]int     `json:"fds_before_with_after"`
	DeleteS       float64    `json:"all_deleted_seconds"`
}

// scaleFigure is figure 7: N more endpoints to the one service in the consumer's
// /20 subnet, created by 8 concurrent API clients; the time from the first call
// until DescribeVpcEndpoints shows all available; the server's RSS before, with
// them and after deleting them; connections/s through the last one created,
// interleaved with the first endpoint; then the time to delete them all.
func (d *driver) scaleFigure() error {
	r, t := d.res, d.topo
	n := d.cfg.scaleEndpoints
	raw := scaleRaw{Endpoints: n}
	rssName := r.define(metric{Figure: 7, Name: "strait server RSS", Unit: "MiB", Lower: true})
	read := func(i int) error {
		var err error
		if raw.RSSKiB[i], err = procStatusKiB(d.srv.pid(), "VmRSS"); err != nil {
			return err
		}
		raw.FDs[i], err = fdCount(d.srv.pid())
		return err
	}
	if err := read(0); err != nil {
		return err
	}
	ids := make([]string, n)
	var mu sync.Mutex
	var firstErr error
	defer func() {
		var created []string
		for _, id := range ids {
			if id != "" {
				created = append(created, id)
			}
		}
		if len(created) > 0 && (firstErr != nil || d.ctx.Err() != nil) {
			for c := range chunks(created, 100) {
				t.cec2.DeleteVpcEndpoints(context.Background(), &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: c})
			}
		}
	}()
	t0 := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out, err := t.cec2.CreateVpcEndpoint(d.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcId: aws.String(t.cvpc),
					SubnetIds: []string{t.cscale}, ServiceName: aws.String(t.svcName)})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("endpoint %d of %d: %w", i+1, n, err)
				}
				if err == nil {
					ids[i] = *out.VpcEndpoint.VpcEndpointId
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || d.ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	raw.CreateCallsS = time.Since(t0).Seconds()
	d.logf("  %d CreateVpcEndpoint calls in %.1f s; waiting for all available", n, raw.CreateCallsS)
	if _, err := t.waitEndpoints(d.ctx, ids, "available", 15*time.Minute); err != nil {
		firstErr = err
		return err
	}
	raw.AllAvailableS = time.Since(t0).Seconds()
	time.Sleep(time.Second)
	if err := read(1); err != nil {
		return err
	}
	label := fmt.Sprintf("with %d more endpoints", n)
	r.add(r.define(metric{Figure: 7, Name: fmt.Sprintf("CreateVpcEndpoint ×%d → all available", n), Unit: "s", Lower: true}), pStrait, 0, raw.AllAvailableS, raw)
	r.add(rssName, "before", 0, raw.RSSKiB[0]/1024, raw)
	r.add(rssName, label, 0, raw.RSSKiB[1]/1024, raw)

	last := ids[n-1]
	d1, err := t.cec2.DescribeVpcEndpoints(d.ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{last}})
	if err != nil {
		return err
	}
	enis, err := t.cec2.DescribeNetworkInterfaces(d.ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: d1.VpcEndpoints[0].NetworkInterfaceIds})
	if err != nil {
		return err
	}
	lastAddr := fmt.Sprintf("%s:%d", *enis.NetworkInterfaces[0].PrivateIpAddress, portPlain)
	lastName := fmt.Sprintf("endpoint #%d of %d", n+1, n+1)
	for _, conc := range []int{1, 32} {
		m := r.define(metric{Figure: 7, Name: fmt.Sprintf("new connections/s, %s, with %d endpoints", concLabel(conc), n+1), Unit: "conn/s", Refs: []string{pStrait}})
		for rep := range d.cfg.scaleReps {
			order := []struct{ name, addr string }{{pStrait, fmt.Sprintf("%s:%d", t.endpointIP, portPlain)}, {lastName, lastAddr}}
			if rep%2 == 1 { // alternate which goes first
				order[0], order[1] = order[1], order[0]
			}
			for _, a := range order {
				var x cpsResult
				args := d.peerArgv(t.client, "cps", "--addr", a.addr, "--conc", strconv.Itoa(conc), "--duration", d.cfg.dur.String())
				if err := runJSON(d.ctx, "cps over "+a.name, args, d.cfg.dur+time.Minute, &x); err != nil {
					return err
				}
				r.add(m, a.name, rep, x.PerSec, x)
			}
		}
	}

	t1 := time.Now()
	for c := range chunks(ids, 100) {
		if _, err := t.cec2.DeleteVpcEndpoints(d.ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: c}); err != nil {
			firstErr = err
			return err
		}
	}
	if _, err := t.waitEndpoints(d.ctx, ids, "deleted", 15*time.Minute); err != nil {
		return err
	}
	raw.DeleteS = time.Since(t1).Seconds()
	time.Sleep(time.Second)
	if err := read(2); err != nil {
		return err
	}
	r.add(r.define(metric{Figure: 7, Name: fmt.Sprintf("DeleteVpcEndpoints ×%d → all gone", n), Unit: "s", Lower: true}), pStrait, 0, raw.DeleteS, raw)
	r.add(rssName, "after deleting them", 0, raw.RSSKiB[2]/1024, raw)
	return nil
}

// concLabel names a connections/s concurrency.
func concLabel(conc int) string {
	if conc == 1 {
		return "sequential"
	}
	return fmt.Sprintf("%d concurrent", conc)
}
