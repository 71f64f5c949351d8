package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ProcessConfig configures StartProcess.
type ProcessConfig struct {
	// NoFile is the child's open-file limit (RLIMIT_NOFILE, soft and hard),
	// set with prlimit(1) before it starts (0: inherited). Lowering it lets a
	// test drive the server to its limit with fewer descriptors than the test
	// process has.
	NoFile int
	// Dataplane is "none" (the default) or "netns" (root only; the data
	// plane's namespaces are removed when the test ends).
	Dataplane string
	// DataDir is the data directory (empty: a fresh one).
	DataDir string
	// Forwarding is the server's --forwarding (empty: Forwarding(t)).
	Forwarding string
	// AgentListener starts the agent listener (--agent-listen) on a free
	// loopback port (Process.AgentAddr), for `strait agent` processes
	// (Process.StartAgent).
	AgentListener bool
	// Netns runs the server in this named network namespace (nsenter --net;
	// see Datacenter.StartServer). Listen (and AgentListen with
	// AgentListener) are then required: addresses inside it.
	Netns string
	// Listen is the API's address (empty: a free loopback port).
	Listen string
	// AgentListen is the agent listener's address (empty: a free loopback
	// port).
	AgentListen string
	// Args are further `strait server` flags (e.g. an etcd cluster's).
	Args []string
	// NoWait returns once the process started, without waiting for /healthz
	// (replicas of a new etcd cluster answer only once a quorum runs): call
	// Env.WaitHealthy.
	NoWait bool
}

// Process is a `strait server --dev` running as a child process: the binary
// built from this tree, for what only a whole process shows (its open-file
// limit, whether it exits).
type Process struct {
	t    testing.TB
	URL  string
	Addr string // host:port of the API
	// AgentAddr is host:port of the agent listener ("" without one).
	AgentAddr string
	// Bin is the strait binary the server runs (built from this tree).
	Bin     string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // the exit status, once done is closed
}

// StartProcess builds the strait binary, runs `strait server --dev` with cfg on
// a free loopback port and waits until /healthz answers; the server is stopped
// (SIGTERM, then SIGKILL after 30 s) when the test ends.
func StartProcess(t testing.TB, cfg ProcessConfig) *Env {
	t.Helper()
	if cfg.Dataplane == "" {
		cfg.Dataplane = "none"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Dataplane == "netns" {
		RequireRoot(t)
		downAtCleanup(t, cfg.DataDir)
	}
	bin := StraitBinary(t)
	if cfg.Netns != "" && (cfg.Listen == "" || cfg.AgentListener && cfg.AgentListen == "") {
		t.Fatal("a server in a network namespace needs ProcessConfig.Listen (and AgentListen): the loopback ports free here say nothing there")
	}
	addr := cfg.Listen
	if addr == "" {
		addr = FreeLoopbackPort(t)
	}
	if cfg.Forwarding == "" {
		cfg.Forwarding = Forwarding(t)
	}
	argv := []string{bin, "server", "--dev", "--data-dir", cfg.DataDir, "--listen", addr, "--dataplane", cfg.Dataplane, "--region", Region, "--forwarding", cfg.Forwarding}
	agentAddr := ""
	if cfg.AgentListener {
		agentAddr = cfg.AgentListen
		if agentAddr == "" {
			agentAddr = FreeLoopbackPort(t)
		}
		argv = append(argv, "--agent-listen", agentAddr)
	}
	argv = append(argv, cfg.Args...)
	if cfg.NoFile > 0 {
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			SkipUnlessE2E(t, "prlimit (util-linux) is not installed")
		}
		n := strconv.Itoa(cfg.NoFile)
		argv = append([]string{prlimit, "--nofile=" + n + ":" + n, "--"}, argv...)
	}
	if cfg.Netns != "" {
		argv = append([]string{"nsenter", "--net=" + nsRunPath(cfg.Netns), "--"}, argv...)
	}
	p := &Process{t: t, URL: "http://" + addr, Addr: addr, AgentAddr: agentAddr, Bin: bin, logPath: filepath.Join(t.TempDir(), "server.log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(argv[0], argv[1:]...) // nsenter and prlimit exec the server: one process
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting strait server: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	e := &Env{T: t, Proc: p, DataDir: cfg.DataDir}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("strait server log (last 4 KB):\n%s", tail(p.Log(), 4096))
		}
	})
	if !cfg.NoWait {
		e.WaitHealthy()
	}
	return e
}

// WaitHealthy waits until the server process's /healthz answers 200; the
// test fails if it exits or takes more than 2 minutes.
func (e *Env) WaitHealthy() {
	t, p := e.T, e.Proc
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		if p.Healthy() {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("strait server exited at start (%v):\n%s", p.err, tail(p.Log(), 4096))
		case <-ctx.Done():
			t.Fatalf("strait server not healthy after 2 minutes:\n%s", tail(p.Log(), 4096))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Healthy reports whether /healthz answers 200 (the store answers too).
func (p *Process) Healthy() bool {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.URL + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill kills the server with SIGKILL and waits for it (kill -9: nothing is
// cleaned up).
func (p *Process) Kill() {
	if exited, _ := p.Exited(); exited {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// PID is the server's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the server exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Log is what the server wrote to stdout and stderr so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// Stop stops the server with SIGTERM (SIGKILL after 30 s) and waits for it
// (idempotent).
func (p *Process) Stop() {
	if exited, _ := p.Exited(); exited {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// FreeLoopbackPort returns an address on 127.0.0.1 with a port free right now.
func FreeLoopbackPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[strings.IndexByte(s[len(s)-n:], '\n')+len(s)-n+1:]
}

// StraitBinary builds the strait binary from this tree into a directory of
// the test and returns its path.
func StraitBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strait")
	if out, err := exec.Command("go", "build", "-o", bin, "strait/cmd/strait").CombinedOutput(); err != nil {
		t.Fatalf("building strait: %v\n%s", err, out)
	}
	return bin
}
