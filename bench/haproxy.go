package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// haproxyConfig is HAProxy tuned as its users tune a TCP proxy: mode tcp, splice in
// both directions (not splice-auto), two threads, room for the idle figure's
// connections, Strait's idle timeout (350 s), no logging. HAProxy reserves two
// descriptors per connection and two per pipe (maxconn/4 pipes by default) and
// refuses to start above the open-file limit (20,000 here), so the pipes are
// capped at 256: plenty for the data figures' few busy connections.
func haproxyConfig(listen, server string, maxconn int) string {
	return fmt.Sprintf(`global
	nbthread 2
	maxconn %[3]d
	maxpipes 256

defaults
	mode tcp
	maxconn %[3]d
	timeout connect 5s
	timeout client 350s
	timeout server 350s
	option splice-request
	option splice-response

frontend bench
	bind %[1]s
	default_backend target

backend target
	server b %[2]s
`, listen, server, maxconn)
}

// haproxy is a HAProxy process in a namespace.
type haproxy struct {
	proc               *proc
	ns, listen, server string
	maxconn            int
	dir                string
}

// startHAProxy runs `haproxy -db` in namespace ns (through `ip netns exec`, which
// execs it, so the process ID is HAProxy's) and waits until it accepts.
func startHAProxy(ns, listen, server string, maxconn int, dir string) (*haproxy, error) {
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(listen, server, maxconn)), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc("haproxy", []string{"ip", "netns", "exec", ns, "haproxy", "-db", "-f", cfg}, nil)
	if err != nil {
		return nil, err
	}
	go func() {
		for range p.lines {
		}
	}()
	h := &haproxy{proc: p, ns: ns, listen: listen, server: server, maxconn: maxconn, dir: dir}
	err = poll(context.Background(), 10*time.Second, 50*time.Millisecond, func() (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("haproxy exited: %v: %s", p.err, p.stderr)
		default:
		}
		out, _ := exec.Command("ip", "netns", "exec", ns, "ss", "-Hltn", "src", listen).Output()
		return strings.TrimSpace(string(out)) != "", nil
	})
	if err != nil {
		p.stop(time.Second)
		return nil, err
	}
	return h, nil
}

// pid is HAProxy's process ID.
func (h *haproxy) pid() int { return h.proc.cmd.Process.Pid }

// warnings is what HAProxy printed on stderr (it warns about limits there).
func (h *haproxy) warnings() string { return h.proc.stderr.String() }

// restart stops HAProxy and starts a fresh process with the same configuration.
func (h *haproxy) restart() error {
	h.stop()
	n, err := startHAProxy(h.ns, h.listen, h.server, h.maxconn, h.dir)
	if err != nil {
		return err
	}
	*h = *n
	return nil
}

// stop ends HAProxy.
func (h *haproxy) stop() { h.proc.stop(5 * time.Second) }

// haproxyVersion is the first line of `haproxy -v`.
func haproxyVersion() string {
	out, err := exec.Command("haproxy", "-v").Output()
	if err != nil {
		return "haproxy not found"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}
