package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"strait/internal/agent/netns"
)

// endpointTiming is what figure 5 saw of one endpoint's life.
type endpointTiming struct {
	ID          string  `json:"id"`
	IP          string  `json:"ip"`
	AvailableMs float64 `json:"available_ms"`
	FirstByteMs float64 `json:"first_byte_ms"`
	DialsFailed int     `json:"dials_failed_after_available"`
	DeletedMs   float64 `json:"deleted_ms"`
}

// controlFigure is figure 5: endpoints created one at a time, each timed from the
// CreateVpcEndpoint call to "available" in DescribeVpcEndpoints (polled every
// millisecond) and to the first byte back through it from the consumer instance;
// Describe* rates with the endpoints in place; then each deleted and timed until
// DescribeVpcEndpoints no longer lists it.
func (d *driver) controlFigure() error {
	r, t := d.res, d.topo
	avail := r.define(metric{Figure: 5, Name: "CreateVpcEndpoint → available", Unit: "ms", Lower: true})
	first := r.define(metric{Figure: 5, Name: "CreateVpcEndpoint → first byte through it", Unit: "ms", Lower: true})
	gone := r.define(metric{Figure: 5, Name: "DeleteVpcEndpoints → gone", Unit: "ms", Lower: true})
	var ids []string
	defer func() { // on failure, leave no extra endpoint behind for later figures
		if len(ids) > 0 {
			t.cec2.DeleteVpcEndpoints(context.Background(), &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: ids})
		}
	}()
	var timings []*endpointTiming
	for i := range d.cfg.cpEndpoints {
		et, err := d.timeEndpoint()
		if et != nil {
			ids = append(ids, et.ID)
		}
		if err != nil {
			return err
		}
		timings = append(timings, et)
		r.add(avail, pStrait, i, et.AvailableMs, et)
		r.add(first, pStrait, i, et.FirstByteMs, et)
		if et.DialsFailed > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("endpoint %s: %d connections failed after it was available, before one succeeded", et.ID, et.DialsFailed))
		}
	}
	if err := d.describeRates(); err != nil {
		return err
	}
	for i, et := range timings {
		t0 := time.Now()
		if _, err := t.cec2.DeleteVpcEndpoints(d.ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{et.ID}}); err != nil {
			return err
		}
		if _, err := t.waitEndpoints(d.ctx, []string{et.ID}, "deleted", time.Minute); err != nil {
			return err
		}
		et.DeletedMs = ms(time.Since(t0))
		r.add(gone, pStrait, i, et.DeletedMs, et)
	}
	ids = nil
	return nil
}

// timeEndpoint creates one endpoint in the consumer's second subnet and times it.
func (d *driver) timeEndpoint() (*endpointTiming, error) {
	t := d.topo
	t0 := time.Now()
	out, err := t.cec2.CreateVpcEndpoint(d.ctx, &ec2.CreateVpcEndpointInput{VpcEndpointType: "Interface", VpcId: aws.String(t.cvpc),
		SubnetIds: []string{t.cscale}, ServiceName: aws.String(t.svcName)})
	if err != nil {
		return nil, err
	}
	et := &endpointTiming{ID: *out.VpcEndpoint.VpcEndpointId}
	if _, err := t.waitEndpoints(d.ctx, []string{et.ID}, "available", time.Minute); err != nil {
		return et, err
	}
	et.AvailableMs = ms(time.Since(t0))
	enis, err := t.cec2.DescribeNetworkInterfaces(d.ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: out.VpcEndpoint.NetworkInterfaceIds})
	if err != nil {
		return et, err
	}
	et.IP = *enis.NetworkInterfaces[0].PrivateIpAddress
	addr := fmt.Sprintf("%s:%d", et.IP, portPlain)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := connectTestIn(t.client, addr, 2*time.Second)
		if err == nil {
			break
		}
		et.DialsFailed++
		if time.Now().After(deadline) {
			return et, fmt.Errorf("endpoint %s available but no byte through it after 10 s: %w", et.ID, err)
		}
		time.Sleep(time.Millisecond)
	}
	et.FirstByteMs = ms(time.Since(t0))
	return et, nil
}

// connectTestIn runs one connect test from inside an instance's namespace.
func connectTestIn(inst, addr string, timeout time.Duration) error {
	var c net.Conn
	err := netns.InInstance(inst, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{cmdConnect}); err != nil {
		return err
	}
	var b [1]byte
	_, err = c.Read(b[:])
	return err
}

// describeRates measures DescribeVpcEndpoints and DescribeVpcEndpointServices
// calls per second from the consumer, one at a time and 8 concurrent.
func (d *driver) describeRates() error {
	r, t := d.res, d.topo
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"DescribeVpcEndpoints", func(ctx context.Context) error {
			_, err := t.cec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			return err
		}},
		{"DescribeVpcEndpointServices", func(ctx context.Context) error {
			_, err := t.cec2.DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{t.svcName}})
			return err
		}},
	}
	for rep := range d.cfg.reps {
		for _, c := range calls {
			m := r.define(metric{Figure: 5, Name: c.name + " calls/s", Unit: "calls/s"})
			for _, conc := range []int{1, 8} {
				n, lat, err := rate(d.ctx, conc, d.cfg.describeDur, c.call)
				if err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				label := "1 client"
				if conc > 1 {
					label = fmt.Sprintf("%d concurrent clients", conc)
				}
				r.add(m, label, rep, n, map[string]any{"concurrency": conc, "seconds": d.cfg.describeDur.Seconds(),
					"endpoints_listed": d.cfg.cpEndpoints + 1, "call_ms_p50": ms(percentile(lat, 50)), "call_ms_p99": ms(percentile(lat, 99)),
					"call_ms_max": ms(percentile(lat, 100))})
			}
		}
	}
	return nil
}

// rate calls fn from conc goroutines for dur and returns completed calls per
// second and the sorted call durations.
func rate(ctx context.Context, conc int, dur time.Duration, fn func(context.Context) error) (float64, []time.Duration, error) {
	var n atomic.Int64
	var lat []time.Duration
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	stop := start.Add(dur)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				t0 := time.Now()
				err := fn(ctx)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, time.Since(t0))
				mu.Unlock()
				if err != nil {
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, nil, firstErr
	}
	slices.Sort(lat)
	return float64(n.Load()) / time.Since(start).Seconds(), lat, nil
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }
