package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// rrSize is the message size of the latency figure.
const rrSize = 64

// dataTest is one client measurement of figures 1–3 (and 8), run on every path.
type dataTest struct {
	name    string
	args    func(cfg config) []string
	timeout func(cfg config) time.Duration
	record  func(r *results, p string, rep int, out []byte) error
	// recordCPU, if set, also gets the CPU time the path's proxy process used
	// during the test (paths without a proxy are not passed).
	recordCPU func(r *results, p string, rep int, out []byte, cpu time.Duration) error
}

// metricSet says where data tests record: the figure, a suffix of the metric
// names (figure 8 measures the same tests once per backbone), the paths the
// ratios compare against, and whether the proxy's CPU time is measured too.
type metricSet struct {
	r      *results
	fig    int
	suffix string
	refs   []string
	cpu    bool
}

// define registers a metric of the set, its name with the set's suffix.
func (s metricSet) define(name, unit string, lower bool, refs []string) string {
	return s.r.define(metric{Figure: s.fig, Name: name + s.suffix, Unit: unit, Lower: lower, Refs: refs})
}

// dataTests are figures 1–3: bulk throughput with 1 and 4 streams, round-trip
// latency, connections/s sequential and 32 concurrent.
func (d *driver) dataTests() []dataTest {
	vsDirect := []string{pDirect, pHAProxy, pRelay}
	set := func(fig int) metricSet { return metricSet{r: d.res, fig: fig, refs: vsDirect, cpu: true} }
	return []dataTest{bulkTest(set(1), 1), bulkTest(set(1), 4), rrTest(set(2)), cpsTest(set(3), 1, "sequential"), cpsTest(set(3), 32, "32 concurrent")}
}

// bulkTest is bulk throughput with a number of streams.
func bulkTest(s metricSet, streams int) dataTest {
	m := s.define(fmt.Sprintf("throughput, %d stream%s", streams, plural(streams)), "Gbit/s", false, s.refs)
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

// rrTest is the round trip's p50 and p99 (and the proxy's CPU per round trip).
func rrTest(s metricSet) dataTest {
	p50 := s.define("round trip p50", "µs", true, s.refs)
	p99 := s.define("round trip p99", "µs", true, s.refs)
	t := dataTest{
		name: "round trip" + s.suffix,
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
	}
	if !s.cpu {
		return t
	}
	rrCPU := s.define("proxy CPU per round trip", "µs", true, []string{pHAProxy})
	t.recordCPU = func(r *results, p string, rep int, out []byte, used time.Duration) error {
		var x rrResult
		if err := decode(out, &x); err != nil {
			return err
		}
		if n := x.Count + x.Warmup; n > 0 {
			r.add(rrCPU, p, rep, float64(used.Nanoseconds())/1e3/float64(n), map[string]any{"cpu_ms": used.Milliseconds(), "round_trips": n})
		}
		return nil
	}
	return t
}

// cpsTest is new connections/s with conc concurrent clients (and the proxy's
// CPU per connection).
func cpsTest(s metricSet, conc int, label string) dataTest {
	m := s.define("new connections/s, "+label, "conn/s", false, s.refs)
	t := dataTest{
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
	}
	if !s.cpu {
		return t
	}
	cpu := s.define("proxy CPU per connection, "+label, "µs", true, []string{pHAProxy})
	t.recordCPU = func(r *results, p string, rep int, out []byte, used time.Duration) error {
		var x cpsResult
		if err := decode(out, &x); err != nil {
			return err
		}
		if n := x.OK + x.Failed; n > 0 {
			r.add(cpu, p, rep, float64(used.Microseconds())/float64(n), map[string]any{"cpu_ms": used.Milliseconds(), "connections": n})
		}
		return nil
	}
	return t
}

// dataFigures runs figures 1–3 on every path.
func (d *driver) dataFigures() error {
	return d.runTests(d.res, d.paths, d.dataTests(), "")
}

// runTests runs every test on every path, repetition by repetition, rotating
// the order of the paths so that no path always runs first or last, and
// records into r; label prefixes the progress lines.
func (d *driver) runTests(r *results, paths []path, tests []dataTest, label string) error {
	for rep := range d.cfg.reps {
		for _, t := range tests {
			for i := range paths {
				p := paths[(i+rep)%len(paths)]
				args := append(t.args(d.cfg), "--addr", p.Addr)
				var pids []int
				if t.recordCPU != nil {
					pids = d.cpuPIDs(p.Name)
				}
				before, cpuErr := processesCPU(pids)
				var raw rawJSON
				if err := runJSON(d.ctx, t.name+" over "+p.Name, d.peerArgv(p.Client, args...), t.timeout(d.cfg), &raw); err != nil {
					return err
				}
				if err := t.record(r, p.Name, rep, raw); err != nil {
					return fmt.Errorf("%s over %s: %w", t.name, p.Name, err)
				}
				if len(pids) == 0 {
					continue
				}
				after, err := processesCPU(pids)
				if err = errors.Join(cpuErr, err); err != nil {
					return fmt.Errorf("%s over %s: proxy CPU time: %w", t.name, p.Name, err)
				}
				if err := t.recordCPU(r, p.Name, rep, raw, after-before); err != nil {
					return fmt.Errorf("%s over %s: %w", t.name, p.Name, err)
				}
			}
		}
		d.logf("  %srepetition %d/%d done", label, rep+1, d.cfg.reps)
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

// cpuPIDs are the processes whose CPU time a path's tests with recordCPU
// measure: the Strait server and its relay process (which relays the
// connections since issue 18), or HAProxy (none for the paths without a
// proxy; the kernel path has no proxy process either, but the Strait server is
// measured there too, to show that it does no work per connection or byte);
// on figure 8's paths across hosts, both agents, which carry the backbone
// (wireguard-go runs in them).
func (d *driver) cpuPIDs(pathName string) []int {
	switch pathName {
	case pStrait:
		return []int{d.srv.pid()}
	case pRelay, pPPv2:
		if relay := d.srv.relayPID(); relay != 0 {
			return []int{d.srv.pid(), relay}
		}
		return []int{d.srv.pid()}
	case pHAProxy:
		if d.hap != nil {
			return []int{d.hap.pid()}
		}
	case pAcross, pAcrossStrait:
		if d.hosts != nil {
			var pids []int
			for _, a := range d.hosts.agents {
				pids = append(pids, a.p.cmd.Process.Pid)
			}
			return pids
		}
	}
	return nil
}
