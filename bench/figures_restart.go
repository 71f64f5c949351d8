package main

import (
	"fmt"
	"strconv"
	"syscall"
	"time"
)

// Figure 9 (issue 18): new and established connections across a restart of
// `strait server`. The kernel path keeps its translations in the kernel and
// the relay path's listeners and connections are in the relay process (`strait
// relay`), which the new server adopts: neither should lose a connection.

// restartMode is one way the server goes away: a planned restart (SIGTERM,
// then started again) or a crash (kill -9, then started again).
type restartMode struct {
	label  string // the signal, in the metric names
	signal syscall.Signal
}

// restartModes are figure 9's two ways of restarting.
var restartModes = []restartMode{
	{"SIGTERM", syscall.SIGTERM},
	{"kill -9", syscall.SIGKILL},
}

// restartLead and restartTail are how long the client runs before the signal
// and after the new server's /healthz answers 200.
const (
	restartLead = 2 * time.Second
	restartTail = 3 * time.Second
)

// restartRaw is what one restart saw over one path.
type restartRaw struct {
	Mode   string    `json:"mode"`
	Client cpsResult `json:"client"`
	// Seconds from the signal until the old server process was gone, and
	// until the new one's /healthz answered 200.
	ExitedS  float64 `json:"signal_to_exit_s"`
	HealthyS float64 `json:"signal_to_healthy_s"`
	// Failed client connections by when they started: before the signal,
	// between it and the new server's /healthz 200, after that.
	FailedBefore int64 `json:"failed_before_signal"`
	FailedDown   int64 `json:"failed_signal_to_healthy"`
	FailedAfter  int64 `json:"failed_after_healthy"`
	// The longest gap between successful client connections started this
	// long after the signal (negative: before it).
	GapFromSignalMs float64 `json:"gap_from_signal_ms"`
	// Established is each path's check of its held connections after the
	// restart (their count is those open before it).
	Established map[string]echoesResult `json:"established"`
	ServerPIDs  [2]int                  `json:"server_pid_before_after"`
	RelayPIDs   [2]int                  `json:"relay_pid_before_after"`
	// Relay is the relay process's RSS and descriptors after the restart.
	Relay processSample `json:"relay_after"`
}

// establishedSet is a path's held echo connections (`peer echoes`).
type establishedSet struct {
	path path
	p    *proc
}

// restartFigure is figure 9. For each repetition, each mode and each path
// (kernel, relay; the order rotated by repetition), a client in the consumer
// instance opens short connections through the endpoint from restartWorkers
// workers, restartLead before the server gets the signal until restartTail
// after the new server (same data directory, same API port) answers /healthz
// with 200; its failed connections, the longest interval without a successful
// one and the time until /healthz are recorded. restartHeld echo
// connections held through each path since the figure started are checked
// after every restart; a broken one is replaced, so each check counts
// connections established before that restart.
func (d *driver) restartFigure() error {
	var cases []path
	for _, p := range d.paths {
		if p.Name == pStrait || p.Name == pRelay {
			cases = append(cases, p)
		}
	}
	if len(cases) != 2 {
		return fmt.Errorf("the kernel and relay paths: found %d", len(cases))
	}
	sets := make([]establishedSet, len(cases))
	for i, p := range cases {
		h, err := startProc("established over "+p.Name, d.peerArgv(p.Client, "echoes", "--addr", p.Addr, "--count", strconv.Itoa(d.cfg.restartHeld)), nil)
		if err != nil {
			return err
		}
		defer h.stop(10 * time.Second)
		var first echoesResult
		line, err := h.line(time.Minute)
		if err == nil {
			err = decode([]byte(line), &first)
		}
		if err != nil {
			return fmt.Errorf("established over %s: %w", p.Name, err)
		}
		if first.Open != d.cfg.restartHeld {
			return fmt.Errorf("established over %s: %d of %d open: %v", p.Name, first.Open, d.cfg.restartHeld, first.Errors)
		}
		sets[i] = establishedSet{p, h}
	}
	r := d.res
	for rep := range d.cfg.restartReps {
		for _, m := range restartModes {
			// Short names: each is a panel's title in fig9.svg.
			failed := r.define(metric{Figure: 9, Name: "new connections failed, " + m.label + " + start", Unit: "connections", Lower: true})
			gap := r.define(metric{Figure: 9, Name: "longest gap without new connections, " + m.label, Unit: "ms", Lower: true})
			healthy := r.define(metric{Figure: 9, Name: m.label + " → new server's /healthz 200", Unit: "s", Lower: true})
			held := r.define(metric{Figure: 9, Name: fmt.Sprintf("held connections echoing after %s (of %d)", m.label, d.cfg.restartHeld), Unit: "connections"})
			for i := range cases {
				c := cases[(i+rep)%len(cases)]
				d.logf("figure 9: %s + start, %s, repetition %d", m.label, c.Name, rep)
				raw, err := d.restartOnce(m, c, sets)
				if err != nil {
					return fmt.Errorf("%s + start over %s: %w", m.label, c.Name, err)
				}
				r.add(failed, c.Name, rep, float64(raw.Client.Failed), raw)
				r.add(gap, c.Name, rep, raw.Client.MaxGapMs, raw)
				r.add(healthy, c.Name, rep, raw.HealthyS, raw)
				// Every restart checks the connections held on both paths.
				for _, s := range sets {
					r.add(held, s.path.Name, rep, float64(raw.Established[s.path.Name].Echoed), raw.Established[s.path.Name])
				}
				d.restartNotes(rep, c, raw)
			}
		}
	}
	return nil
}

// restartOnce restarts the server once, as m says, with a client on path c,
// and checks the held connections afterwards.
func (d *driver) restartOnce(m restartMode, c path, sets []establishedSet) (restartRaw, error) {
	raw := restartRaw{Mode: m.label + " + start", Established: map[string]echoesResult{}}
	if err := d.waitPath(c); err != nil {
		return raw, err
	}
	raw.ServerPIDs[0], raw.RelayPIDs[0] = d.srv.pid(), d.srv.relayPID()
	client, err := startProc("restart client", d.peerArgv(c.Client, "cps", "--addr", c.Addr, "--conc", strconv.Itoa(d.cfg.restartWorkers), "--duration", "0"), nil)
	if err != nil {
		return raw, err
	}
	defer client.stop(5 * time.Second)
	mark := func(at time.Time) error {
		_, err := client.stdin.Write([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "\n"))
		return err
	}
	if err := d.sleep(restartLead); err != nil {
		return raw, err
	}
	signalled := time.Now()
	d.srv.proc.signal(m.signal)
	select {
	case <-d.srv.proc.done:
	case <-time.After(time.Minute):
		d.srv.proc.signal(syscall.SIGKILL)
		<-d.srv.proc.done
		return raw, fmt.Errorf("the server did not exit within a minute of %s", m.label)
	}
	raw.ExitedS = time.Since(signalled).Seconds()
	if err := d.srv.start(d.ctx); err != nil {
		return raw, err
	}
	healthy := time.Now()
	raw.HealthyS = healthy.Sub(signalled).Seconds()
	if err := mark(signalled); err != nil {
		return raw, err
	}
	if err := mark(healthy); err != nil {
		return raw, err
	}
	if err := d.sleep(restartTail); err != nil {
		return raw, err
	}
	client.stdin.Close()
	line, err := client.line(30 * time.Second)
	if err != nil {
		return raw, err
	}
	if err := decode([]byte(line), &raw.Client); err != nil {
		return raw, fmt.Errorf("restart client: %q: %w", line, err)
	}
	if len(raw.Client.FailedByPhase) != 3 {
		return raw, fmt.Errorf("restart client: failures by phase %v, want 3 phases", raw.Client.FailedByPhase)
	}
	raw.FailedBefore, raw.FailedDown, raw.FailedAfter = raw.Client.FailedByPhase[0], raw.Client.FailedByPhase[1], raw.Client.FailedByPhase[2]
	raw.GapFromSignalMs = float64(raw.Client.MaxGapFrom-signalled.UnixMicro()) / 1e3
	for _, s := range sets {
		if _, err := s.p.stdin.Write([]byte("check\n")); err != nil {
			return raw, fmt.Errorf("established over %s: %w", s.path.Name, err)
		}
		line, err := s.p.line(time.Minute)
		var e echoesResult
		if err == nil {
			err = decode([]byte(line), &e)
		}
		if err != nil {
			return raw, fmt.Errorf("established over %s: %w", s.path.Name, err)
		}
		raw.Established[s.path.Name] = e
	}
	raw.ServerPIDs[1], raw.RelayPIDs[1] = d.srv.pid(), d.srv.relayPID()
	raw.Relay, _ = sampleProcess(raw.RelayPIDs[1])
	return raw, nil
}

// restartNotes notes what a restart broke: failed new connections (by phase),
// held connections that stopped echoing, a relay process that was replaced.
func (d *driver) restartNotes(rep int, c path, raw restartRaw) {
	r := d.res
	if raw.Client.Failed > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s over %s, repetition %d: %d of %d new connections failed (%d before the signal, %d until the new server's /healthz 200 after %.2f s, %d after it); longest gap %.0f ms, from %.0f ms after the signal: %v",
			raw.Mode, c.Name, rep, raw.Client.Failed, raw.Client.Failed+raw.Client.OK, raw.FailedBefore, raw.FailedDown, raw.HealthyS, raw.FailedAfter, raw.Client.MaxGapMs, raw.GapFromSignalMs, raw.Client.Errors))
	}
	for name, e := range raw.Established {
		if e.Broken > 0 || e.Echoed != e.Open {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (client on %s), repetition %d: %d of %d connections held through %s did not echo afterwards (%d replacements failed): %v",
				raw.Mode, c.Name, rep, e.Broken, e.Open, name, e.Failed, e.Errors))
		}
	}
	if raw.RelayPIDs[0] != raw.RelayPIDs[1] {
		r.Notes = append(r.Notes, fmt.Sprintf("%s (client on %s), repetition %d: the relay process was %d before and %d after (0: none)",
			raw.Mode, c.Name, rep, raw.RelayPIDs[0], raw.RelayPIDs[1]))
	}
}

// waitPath waits until a path carries a connection test, and a second more.
func (d *driver) waitPath(p path) error {
	err := poll(d.ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
		var r cpsResult
		err := runJSON(d.ctx, "check "+p.Name, d.peerArgv(p.Client, "cps", "--addr", p.Addr, "--conc", "1", "--duration", "100ms"), 30*time.Second, &r)
		return err == nil && r.OK > 0 && r.Failed == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%s does not carry connections: %w", p.Name, err)
	}
	return d.sleep(time.Second)
}

// sleep waits for dur, or until the run is interrupted.
func (d *driver) sleep(dur time.Duration) error {
	select {
	case <-time.After(dur):
		return nil
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
}
