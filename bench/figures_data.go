package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// rrSize is the message size of the latency figure.
const rrSize = 64

// dataTest is one client measurement of figures 1–3, run on every path.
type dataTest struct {
	name    string
	args    func(cfg config) []string
	timeout func(cfg config) time.Duration
	record  func(r *results, p string, rep int, out []byte) error
	// recordCPU, if set, also gets the CPU time the path's proxy process used
	// during the test (paths without a proxy are not passed).
	recordCPU func(r *results, p string, rep int, out []byte, cpu time.Duration) error
}

// dataTests are figures 1–3: bulk throughput with 1 and 4 streams, round-trip
// latency, connections/s sequential and 32 concurrent.
func (d *driver) dataTests() []dataTest {
	r := d.res
	vsDirect := []string{pDirect, pHAProxy, pRelay}
	bulk := func(streams int) dataTest {
		m := r.define(metric{Figure: 1, Name: fmt.Sprintf("throughput, %d stream%s", streams, plural(streams)), Unit: "Gbit/s", Refs: vsDirect})
		return dataTest{
			name: m,
			args: func(cfg config) []string {
				return []string{"bulk", "--streams", strconv.Itoa(streams), "--duration", cfg.dur.String()}
			},
			timeout: func(cfg config) time.Duration { return cfg.dur + time.Minute },
			record: func(r *results, p string, rep int, out []byte) error {
				var b bulkResult
				if err := decode(out, &b); err != nil {
					return err
				}
				r.add(m, p, rep, b.Gbps, b)
				return nil
			},
		}
	}
	p50 := r.define(metric{Figure: 2, Name: "round trip p50", Unit: "µs", Lower: true, Refs: vsDirect})
	p99 := r.define(metric{Figure: 2, Name: "round trip p99", Unit: "µs", Lower: true, Refs: vsDirect})
	rrCPU := r.define(metric{Figure: 2, Name: "proxy CPU per round trip", Unit: "µs", Lower: true, Refs: []string{pHAProxy}})
	rr := dataTest{
		name: "round trip",
		args: func(cfg config) []string {
			return []string{"rr", "--count", strconv.Itoa(cfg.rrCount), "--size", strconv.Itoa(rrSize)}
		},
		timeout: func(cfg config) time.Duration { return 2 * time.Minute },
		record: func(r *results, p string, rep int, out []byte) error {
			var x rrResult
			if err := decode(out, &x); err != nil {
				return err
			}
			r.add(p50, p, rep, x.P50us, x)
			r.add(p99, p, rep, x.P99us, x)
			return nil
		},
		recordCPU: func(r *results, p string, rep int, out []byte, used time.Duration) error {
			var x rrResult
			if err := decode(out, &x); err != nil {
				return err
			}
			if n := x.Count + x.Warmup; n > 0 {
				r.add(rrCPU, p, rep, float64(used.Nanoseconds())/1e3/float64(n), map[string]any{"cpu_ms": used.Milliseconds(), "round_trips": n})
			}
			return nil
		},
	}
	cps := func(conc int, label string) dataTest {
		m := r.define(metric{Figure: 3, Name: "new connections/s, " + label, Unit: "conn/s", Refs: vsDirect})
		cpu := r.define(metric{Figure: 3, Name: "proxy CPU per connection, " + label, Unit: "µs", Lower: true, Refs: []string{pHAProxy}})
		return dataTest{
			name: m,
			args: func(cfg config) []string {
				return []string{"cps", "--conc", strconv.Itoa(conc), "--duration", cfg.dur.String()}
			},
			timeout: func(cfg config) time.Duration { return cfg.dur + time.Minute },
			record: func(r *results, p string, rep int, out []byte) error {
				var x cpsResult
				if err := decode(out, &x); err != nil {
					return err
				}
				if x.Failed > 0 {
					r.Notes = append(r.Notes, fmt.Sprintf("%s over %s, repetition %d: %d failed connections (%v)", m, p, rep, x.Failed, x.Errors))
				}
				r.add(m, p, rep, x.PerSec, x)
				return nil
			},
			recordCPU: func(r *results, p string, rep int, out []byte, used time.Duration) error {
				var x cpsResult
				if err := decode(out, &x); err != nil {
					return err
				}
				if n := x.OK + x.Failed; n > 0 {
					r.add(cpu, p, rep, float64(used.Microseconds())/float64(n), map[string]any{"cpu_ms": used.Milliseconds(), "connections": n})
				}
				return nil
			},
		}
	}
	return []dataTest{bulk(1), bulk(4), rr, cps(1, "sequential"), cps(32, "32 concurrent")}
}

// dataFigures runs every test on every path, repetition by repetition, rotating
// the order of the paths so that no path always runs first or last.
func (d *driver) dataFigures() error {
	tests := d.dataTests()
	for rep := range d.cfg.reps {
		for _, t := range tests {
			for i := range d.paths {
				p := d.paths[(i+rep)%len(d.paths)]
				args := append(t.args(d.cfg), "--addr", p.Addr)
				pid := 0
				if t.recordCPU != nil {
					pid = d.proxyPID(p.Name)
				}
				before, cpuErr := processCPU(pid)
				var raw rawJSON
				if err := runJSON(d.ctx, t.name+" over "+p.Name, d.peerArgv(p.Client, args...), t.timeout(d.cfg), &raw); err != nil {
					return err
				}
				if err := t.record(d.res, p.Name, rep, raw); err != nil {
					return fmt.Errorf("%s over %s: %w", t.name, p.Name, err)
				}
				if pid == 0 {
					continue
				}
				after, err := processCPU(pid)
				if err = errors.Join(cpuErr, err); err != nil {
					return fmt.Errorf("%s over %s: proxy CPU time: %w", t.name, p.Name, err)
				}
				if err := t.recordCPU(d.res, p.Name, rep, raw, after-before); err != nil {
					return fmt.Errorf("%s over %s: %w", t.name, p.Name, err)
				}
			}
		}
		d.logf("  repetition %d/%d done", rep+1, d.cfg.reps)
	}
	return nil
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// proxyPID is the process that relays a path's connections: the Strait server
// or HAProxy; 0 for the paths without a proxy. The kernel path has no proxy
// process either, but the Strait server is measured there too, to show that it
// does no work per connection or byte.
func (d *driver) proxyPID(pathName string) int {
	switch pathName {
	case pStrait, pRelay, pPPv2:
		return d.srv.pid()
	case pHAProxy:
		if d.hap != nil {
			return d.hap.pid()
		}
	}
	return 0
}
