package main

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// metric describes one measured quantity of a figure.
type metric struct {
	Figure int    `json:"figure"`
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Lower  bool   `json:"lower_is_better"`
	// Refs are the paths this metric's medians are compared against, in order
	// (path / ref); the first labels the plot's bars.
	Refs []string `json:"refs,omitempty"`
}

// sample is one measured value; Raw is the peer's whole answer (or the inputs of
// a computed value).
type sample struct {
	Metric string    `json:"metric"`
	Path   string    `json:"path"`
	Rep    int       `json:"rep"`
	Value  float64   `json:"value"`
	At     time.Time `json:"at"`
	Raw    any       `json:"raw,omitempty"`
}

// machine is what the results were measured on.
type machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	HAProxy    string `json:"haproxy"`
	Go         string `json:"go"`
	Commit     string `json:"strait_commit"`
	Hostname   string `json:"hostname"`
	OpenFiles  string `json:"open_file_limit"`
	LoadAvgRun string `json:"load_average_at_start"`
}

// results is everything a run measured, as written to latest.json.
type results struct {
	Title        string    `json:"title,omitempty"` // of the Markdown page ("": Strait benchmark results)
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	Quick        bool      `json:"quick"`
	Config       any       `json:"config"`
	Machine      machine   `json:"machine"`
	LoadAvgEnd   string    `json:"load_average_at_end"`
	Paths        []path    `json:"paths"`
	Metrics      []metric  `json:"metrics"`
	Samples      []sample  `json:"samples"`
	Notes        []string  `json:"notes"`
	loopbackAddr string
}

// newResults starts the results of a run with the machine and configuration.
func newResults(cfg config) *results {
	return &results{
		Started: time.Now(),
		Quick:   cfg.quick,
		Config: map[string]any{"repetitions": cfg.reps, "measure_seconds": cfg.dur.Seconds(), "rr_count": cfg.rrCount, "rr_size": rrSize,
			"idle_connections": cfg.idleConns, "idle_repetitions": cfg.idleReps, "control_endpoints": cfg.cpEndpoints,
			"describe_seconds": cfg.describeDur.Seconds(), "failover_repetitions": cfg.failoverReps, "scale_endpoints": cfg.scaleEndpoints,
			"restart_repetitions": cfg.restartReps, "restart_workers": cfg.restartWorkers, "restart_held_connections": cfg.restartHeld,
			"ha_endpoints": cfg.haEndpoints, "ha_describe_repetitions": cfg.haDescribeReps, "ha_describe_clients": haDescribeClients, "ha_kills": cfg.haKills, "ha_kills_etcd_leader_elsewhere": cfg.haKillsLease},
		Machine: machineInfo(),
		Notes: []string{"Shared, noisy 2-CPU machine: another engineer's tests may have run at the same time. " +
			"Absolute numbers vary between runs; compare ratios measured in the same run."},
	}
}

// define registers a metric (once) and returns its name.
func (r *results) define(m metric) string {
	for _, have := range r.Metrics {
		if have.Name == m.Name {
			return m.Name
		}
	}
	r.Metrics = append(r.Metrics, m)
	return m.Name
}

// add records a sample.
func (r *results) add(metricName, pathName string, rep int, v float64, raw any) {
	r.Samples = append(r.Samples, sample{Metric: metricName, Path: pathName, Rep: rep, Value: v, At: time.Now(), Raw: raw})
}

// values are the samples of a metric over a path.
func (r *results) values(metricName, pathName string) []float64 {
	var v []float64
	for _, s := range r.Samples {
		if s.Metric == metricName && s.Path == pathName {
			v = append(v, s.Value)
		}
	}
	return v
}

// pathsOf lists the paths a metric was measured on, in order of first sample.
func (r *results) pathsOf(metricName string) []string {
	var ps []string
	seen := map[string]bool{}
	for _, s := range r.Samples {
		if s.Metric == metricName && !seen[s.Path] {
			seen[s.Path] = true
			ps = append(ps, s.Path)
		}
	}
	return ps
}

// machineInfo describes this host.
func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), HAProxy: haproxyVersion(), LoadAvgRun: loadAvg()}
	m.Kernel = cmdLine("uname", "-r")
	m.Commit = cmdLine("git", "rev-parse", "--short", "HEAD")
	if st := cmdLine("git", "status", "--porcelain", "--untracked-files=no"); st != "" {
		m.Commit += " (+ uncommitted changes)"
	}
	m.Hostname, _ = os.Hostname()
	m.OpenFiles = cmdLine("sh", "-c", "ulimit -n")
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

// cmdLine is the trimmed output of a command, "" on failure.
func cmdLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
