package main

import (
	"fmt"
	"strconv"
	"time"
)

// idleRaw is what one idle measurement saw, kept in the JSON.
type idleRaw struct {
	Hold      holdResult `json:"hold"`
	RSSKiB    [2]float64 `json:"rss_kib_before_after"`
	FDs       [2]int     `json:"fds_before_after"`
	SlabKiB   [2]float64 `json:"slab_kib_before_after"`
	ProxyPID  int        `json:"proxy_pid"`
	SettleSec float64    `json:"settle_seconds"`
}

// idleFigure is figure 4: the path's proxy is restarted, then a holder opens N
// connections through it and keeps them idle; the proxy process's RSS and descriptors and the kernel's slab
// are read before and after, per connection. The direct path has no proxy process:
// only its slab delta (two sockets per connection, the baseline) is recorded.
func (d *driver) idleFigure() error {
	r := d.res
	refs := []string{pHAProxy, pDirect, pRelay}
	rss := r.define(metric{Figure: 4, Name: "idle: proxy RSS per connection", Unit: "KiB", Lower: true, Refs: refs})
	fds := r.define(metric{Figure: 4, Name: "idle: proxy descriptors per connection", Unit: "fd", Lower: true, Refs: refs})
	slab := r.define(metric{Figure: 4, Name: "idle: kernel slab per connection", Unit: "KiB", Lower: true, Refs: refs})
	var paths []path
	for _, p := range d.paths {
		if p.Name == pDirect || p.Name == pStrait || p.Name == pRelay || p.Name == pHAProxy {
			paths = append(paths, p)
		}
	}
	for rep := range d.cfg.idleReps {
		for i := range paths {
			p := paths[(i+rep)%len(paths)]
			pid, err := d.freshProxy(p)
			if err != nil {
				return err
			}
			raw, err := d.idleOnce(p, pid)
			if err != nil {
				return err
			}
			n := float64(raw.Hold.Open)
			if raw.Hold.Failed > 0 {
				r.Notes = append(r.Notes, fmt.Sprintf("idle over %s, repetition %d: %d of %d connections failed (%v)", p.Name, rep, raw.Hold.Failed, d.cfg.idleConns, raw.Hold.Errors))
			}
			if n == 0 {
				return fmt.Errorf("idle over %s: no connection opened: %v", p.Name, raw.Hold.Errors)
			}
			if raw.ProxyPID != 0 {
				r.add(rss, p.Name, rep, (raw.RSSKiB[1]-raw.RSSKiB[0])/n, raw)
				r.add(fds, p.Name, rep, float64(raw.FDs[1]-raw.FDs[0])/n, raw)
			}
			r.add(slab, p.Name, rep, (raw.SlabKiB[1]-raw.SlabKiB[0])/n, raw)
		}
	}
	return nil
}

// freshProxy restarts the proxy of a path, so that memory a previous measurement
// left in its heap or pools does not absorb the new connections, and waits until
// the path carries a connection again. It returns the proxy's process ID (0 for
// the direct path).
func (d *driver) freshProxy(p path) (int, error) {
	var pid int
	switch p.Name {
	case pStrait, pRelay:
		if err := d.srv.restart(d.ctx); err != nil {
			return 0, err
		}
		pid = d.srv.pid()
		// The relay process holds the relayed connections; it outlives the
		// server's restart, so its heap is not fresh.
		if relay := d.srv.relayPID(); p.Name == pRelay && relay != 0 {
			pid = relay
		}
	case pHAProxy:
		if err := d.hap.restart(); err != nil {
			return 0, err
		}
		pid = d.hap.pid()
	}
	// waitPath waits a second more: start-up work (health checks, GC) settles.
	if err := d.waitPath(p); err != nil {
		return 0, fmt.Errorf("after a restart: %w", err)
	}
	return pid, nil
}

// idleOnce opens the connections, measures, and closes them.
func (d *driver) idleOnce(p path, pid int) (idleRaw, error) {
	raw := idleRaw{ProxyPID: pid, SettleSec: 2}
	read := func(i int) error {
		var err error
		if raw.SlabKiB[i], err = meminfoKiB("Slab"); err != nil {
			return err
		}
		if pid == 0 {
			return nil
		}
		if raw.RSSKiB[i], err = procStatusKiB(pid, "VmRSS"); err != nil {
			return err
		}
		raw.FDs[i], err = fdCount(pid)
		return err
	}
	if err := read(0); err != nil {
		return raw, err
	}
	h, err := startProc("hold over "+p.Name, d.peerArgv(p.Client, "hold", "--addr", p.Addr, "--count", strconv.Itoa(d.cfg.idleConns)), nil)
	if err != nil {
		return raw, err
	}
	defer h.stop(30 * time.Second)
	line, err := h.line(3 * time.Minute)
	if err != nil {
		return raw, err
	}
	if err := decode([]byte(line), &raw.Hold); err != nil {
		return raw, fmt.Errorf("hold over %s: %q: %w", p.Name, line, err)
	}
	select {
	case <-time.After(time.Duration(raw.SettleSec * float64(time.Second))):
	case <-d.ctx.Done():
		return raw, d.ctx.Err()
	}
	if err := read(1); err != nil {
		return raw, err
	}
	h.stdin.Close() // the holder closes its connections and exits
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		return raw, fmt.Errorf("hold over %s did not exit", p.Name)
	}
	time.Sleep(2 * time.Second) // let the proxies close their sides
	return raw, nil
}
