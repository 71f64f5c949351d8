package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The soak (issue 18): idle connections held through the endpoint for the whole
// run (opened again when Strait's 350 s idle timeout closes them) and a
// bounded loop of short connections (a few workers, one connection at a time
// each), over the kernel path or the relay (--soak-path), while the server's
// RSS, descriptors, goroutines, relayed connections and refusals are sampled,
// and the relay process's RSS and descriptors (it holds the relayed
// connections' descriptors since issue 18). It is a measurement, not a test:
// it reports the curve.

// soakSample is one sample of the server.
type soakSample struct {
	Seconds    float64 `json:"seconds"` // since the loop started
	RSSMiB     float64 `json:"rss_mib"`
	FDs        int     `json:"fds"`
	Goroutines float64 `json:"goroutines"`
	Active     float64 `json:"active_connections"` // relayed now (the endpoint's gauge)
	Refused    float64 `json:"refused_total"`      // strait_dataplane_refused_connections_total
	APIOpen    float64 `json:"api_open_connections"`
	// Relay is the relay process (`strait relay`), read from /proc; its PID
	// is 0 when none runs.
	Relay processSample `json:"relay"`
}

// processSample is a process's resident memory and open descriptors.
type processSample struct {
	PID    int     `json:"pid"`
	RSSMiB float64 `json:"rss_mib"`
	FDs    int     `json:"fds"`
}

// sampleProcess reads a process's RSS and descriptors from /proc (nothing for
// pid 0).
func sampleProcess(pid int) (processSample, error) {
	s := processSample{PID: pid}
	if pid == 0 {
		return s, nil
	}
	kib, err := procStatusKiB(pid, "VmRSS")
	if err != nil {
		return s, err
	}
	s.RSSMiB = kib / 1024
	s.FDs, err = fdCount(pid)
	return s, err
}

// soakResult is what soak.json holds.
type soakResult struct {
	Started  time.Time    `json:"started"`
	Machine  machine      `json:"machine"`
	Idle     int          `json:"idle_connections"`
	Workers  int          `json:"short_connection_workers"`
	Path     string       `json:"path"`
	Duration float64      `json:"duration_seconds"`
	Every    float64      `json:"sample_every_seconds"`
	Hold     holdResult   `json:"hold"`    // when the idle connections were open
	Reopen   holdResult   `json:"reopen"`  // what the holder saw during the loop
	Loop     cpsResult    `json:"loop"`    // the short connections
	Samples  []soakSample `json:"samples"` // the curve
	LoadEnd  string       `json:"load_average_at_end"`
	Notes    []string     `json:"notes,omitempty"`
}

// soak runs the soak over the kernel path or the relay (cfg.soakPath) and
// writes soak.json, soak.md and soak.svg to the output directory.
func (d *driver) soak() error {
	cfg := d.cfg
	name := map[string]string{"kernel": pStrait, "relay": pRelay}[cfg.soakPath]
	i := slices.IndexFunc(d.paths, func(p path) bool { return p.Name == name })
	if i < 0 {
		return fmt.Errorf("--soak-path %q: want kernel or relay", cfg.soakPath)
	}
	p := d.paths[i]
	res := soakResult{Started: time.Now(), Machine: d.res.Machine, Idle: cfg.soakIdle, Workers: cfg.soakWorkers, Path: p.Name,
		Duration: cfg.soakDur.Seconds(), Every: cfg.soakEvery.Seconds()}
	d.logf("soak: opening %d idle connections through %s", cfg.soakIdle, p.Addr)
	h, err := startProc("hold over "+p.Name, d.peerArgv(p.Client, "hold", "--addr", p.Addr, "--count", strconv.Itoa(cfg.soakIdle), "--reopen"), nil)
	if err != nil {
		return err
	}
	defer h.stop(30 * time.Second)
	line, err := h.line(5 * time.Minute)
	if err != nil {
		return err
	}
	if err := decode([]byte(line), &res.Hold); err != nil {
		return fmt.Errorf("hold: %q: %w", line, err)
	}
	d.logf("soak: %d open, %d failed in %.1f s; short connections from %d workers for %s", res.Hold.Open, res.Hold.Failed, res.Hold.Seconds, cfg.soakWorkers, cfg.soakDur)

	loopDone := make(chan error, 1)
	go func() {
		loopDone <- runJSON(d.ctx, "short connections", d.peerArgv(p.Client, "cps", "--addr", p.Addr, "--conc", strconv.Itoa(cfg.soakWorkers),
			"--duration", cfg.soakDur.String()), cfg.soakDur+2*time.Minute, &res.Loop)
	}()
	start := time.Now()
	tick := time.NewTicker(cfg.soakEvery)
	defer tick.Stop()
	sample := func() {
		s, err := d.sampleServer()
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("sample at %.0f s: %v", time.Since(start).Seconds(), err))
			return
		}
		s.Seconds = time.Since(start).Seconds()
		res.Samples = append(res.Samples, s)
	}
	sample()
	var loopErr error
loop:
	for {
		select {
		case <-tick.C:
			sample()
		case loopErr = <-loopDone:
			break loop
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
	sample()
	if loopErr != nil {
		res.Notes = append(res.Notes, "short connections: "+loopErr.Error())
	}
	h.stdin.Close() // the holder reports what it reopened, then closes its connections
	if line, err := h.line(2 * time.Minute); err == nil {
		decode([]byte(line), &res.Reopen)
	}
	res.LoadEnd = loadAvg()
	d.logf("soak: %d short connections, %d failed; the holder reopened %d (%d failed attempts)", res.Loop.OK, res.Loop.Failed, res.Reopen.Reopened, res.Reopen.ReopenFailed)
	return writeSoak(cfg.out, res)
}

// sampleServer reads the server's and the relay process's RSS and
// descriptors from /proc and the rest from the server's /metrics (which
// carries the relay process's data-plane metrics too).
func (d *driver) sampleServer() (soakSample, error) {
	var s soakSample
	srv, err := sampleProcess(d.srv.pid())
	if err != nil {
		return s, err
	}
	s.RSSMiB, s.FDs = srv.RSSMiB, srv.FDs
	if s.Relay, err = sampleProcess(d.srv.relayPID()); err != nil {
		return s, fmt.Errorf("relay process: %w", err)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(d.srv.url + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case name == "go_goroutines":
			s.Goroutines = v
		case name == "strait_dataplane_refused_connections_total":
			s.Refused = v
		case name == "strait_api_open_connections":
			s.APIOpen = v
		case strings.HasPrefix(name, "strait_privatelink_endpoint_active_connections{"):
			s.Active += v
		}
	}
	return s, sc.Err()
}

// writeSoak writes soak.json, soak.md and soak.svg.
func writeSoak(dir string, r soakResult) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "soak.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "soak.svg"), []byte(soakSVG(r)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "soak.md"), []byte(soakMarkdown(r)), 0o644)
}

// soakMarkdown is the soak's table: a row per minute and the last sample.
func soakMarkdown(r soakResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak: %d idle connections + short connections from %d workers, %s, over %s\n\n", r.Idle, r.Workers, time.Duration(r.Duration*float64(time.Second)), r.Path)
	fmt.Fprintf(&b, "Started %s on %d CPUs (%s), load %s at start, %s at end; Strait %s. ", r.Started.UTC().Format("2006-01-02 15:04 UTC"),
		r.Machine.CPUs, r.Machine.CPUModel, r.Machine.LoadAvgRun, r.LoadEnd, r.Machine.Commit)
	fmt.Fprintf(&b, "Idle connections: %d open (%d failed) in %.1f s; the proxy's idle timeout closed %d during the run and the holder opened them again (%d failed attempts). ",
		r.Hold.Open, r.Hold.Failed, r.Hold.Seconds, r.Reopen.Reopened, r.Reopen.ReopenFailed)
	fmt.Fprintf(&b, "Short connections: %d completed, %d failed, %.0f/s, slowest %.0f ms.\n\n", r.Loop.OK, r.Loop.Failed, r.Loop.PerSec, r.Loop.MaxMs)
	if len(r.Loop.Errors) > 0 || len(r.Reopen.Errors) > 0 {
		fmt.Fprintf(&b, "Errors seen: %s\n\n", strings.Join(append(append([]string{}, r.Loop.Errors...), r.Reopen.Errors...), "; "))
	}
	b.WriteString("Server: the `strait server` process; relay: its relay process (`strait relay`), which holds the relayed connections.\n\n")
	b.WriteString("| time | server RSS MiB | server descriptors | server goroutines | relay RSS MiB | relay descriptors | relayed connections | refused (total) | API connections |\n|---|---|---|---|---|---|---|---|---|\n")
	next := 0.0
	for i, s := range r.Samples {
		if s.Seconds+0.5 < next && i != len(r.Samples)-1 {
			continue
		}
		next = math.Floor(s.Seconds/60+1) * 60
		fmt.Fprintf(&b, "| %s | %.1f | %d | %.0f | %.1f | %d | %.0f | %.0f | %.0f |\n", (time.Duration(s.Seconds) * time.Second).String(), s.RSSMiB, s.FDs, s.Goroutines,
			s.Relay.RSSMiB, s.Relay.FDs, s.Active, s.Refused, s.APIOpen)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	return b.String()
}

// soakSVG draws the curves: the server's RSS, descriptors and goroutines, the
// relay process's RSS and descriptors, and relayed connections against time,
// one panel each.
func soakSVG(r soakResult) string {
	panels := []struct {
		name string
		v    func(soakSample) float64
	}{
		{"server RSS (MiB)", func(s soakSample) float64 { return s.RSSMiB }},
		{"server descriptors", func(s soakSample) float64 { return float64(s.FDs) }},
		{"server goroutines", func(s soakSample) float64 { return s.Goroutines }},
		{"relay RSS (MiB)", func(s soakSample) float64 { return s.Relay.RSSMiB }},
		{"relay descriptors", func(s soakSample) float64 { return float64(s.Relay.FDs) }},
		{"relayed connections", func(s soakSample) float64 { return s.Active }},
	}
	const pw, ph, left, top, bottom = 380, 240, 60, 40, 200
	w, h := 2*pw, 30+3*ph
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Soak over %s: %d idle + short connections, samples every %.0f s</text>`+"\n", esc(r.Path), r.Idle, r.Every)
	maxT := 1.0
	for _, s := range r.Samples {
		maxT = math.Max(maxT, s.Seconds)
	}
	for i, p := range panels {
		x0, y0 := i%2*pw, 30+i/2*ph
		maxV := 0.0
		for _, s := range r.Samples {
			maxV = math.Max(maxV, p.v(s))
		}
		if maxV <= 0 {
			maxV = 1
		}
		maxV *= 1.1
		x := func(t float64) float64 { return float64(x0+left) + t/maxT*float64(pw-left-20) }
		y := func(v float64) float64 { return float64(y0+bottom) - v/maxV*float64(bottom-top) }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-weight="bold">%s</text>`+"\n", x0+left, y0+20, esc(p.name))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0+left, y0+bottom, x0+pw-20, y0+bottom)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0+left, y0+top, x0+left, y0+bottom)
		for _, v := range []float64{0, maxV / 1.1 / 2, maxV / 1.1} {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`+"\n", x0+left-4, y(v)+3, num(v))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>`+"\n", x0+pw-20, y0+bottom+14, (time.Duration(maxT) * time.Second).String())
		var pts []string
		for _, s := range r.Samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.Seconds), y(p.v(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color(r.Path, 0), strings.Join(pts, " "))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
