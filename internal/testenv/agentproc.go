package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// AgentProcess is a `strait agent` child process of the test.
type AgentProcess struct {
	t       testing.TB
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // the exit status, once done is closed
}

// StartAgent runs `strait agent --server https://AGENT_ADDR ARGS…` with the
// server's binary (the server needs ProcessConfig.AgentListener; ARGS need
// --data-dir). The agent is stopped when the test ends, and killed if the test
// process dies; then what its data plane left is removed.
func (p *Process) StartAgent(t testing.TB, args ...string) *AgentProcess {
	t.Helper()
	return p.StartAgentIn(t, "", args...)
}

// StartAgentIn is StartAgent in the named network namespace netns (nsenter
// --net: a Machine's), or in the test's when netns is "".
func (p *Process) StartAgentIn(t testing.TB, netns string, args ...string) *AgentProcess {
	t.Helper()
	if p.AgentAddr == "" {
		t.Fatal("the server has no agent listener: start it with ProcessConfig{AgentListener: true}")
	}
	// The agent runs a data plane in namespaces named after its data
	// directory: removed when the test ends (after the agent stopped).
	RequireRoot(t)
	dataDir := ""
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			dataDir = args[i+1]
		}
	}
	if dataDir == "" {
		t.Fatal("StartAgent needs --data-dir DIR (its namespaces are named after it)")
	}
	downAtCleanup(t, dataDir)
	a := &AgentProcess{t: t, logPath: filepath.Join(t.TempDir(), "agent.log"), done: make(chan struct{})}
	logf, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	argv := append([]string{p.Bin, "agent", "--server", "https://" + p.AgentAddr}, args...)
	if netns != "" {
		argv = append([]string{"nsenter", "--net=" + nsRunPath(netns), "--"}, argv...) // nsenter execs the agent
	}
	a.cmd = exec.Command(argv[0], argv[1:]...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := startOnLivingThread(a.cmd); err != nil {
		t.Fatalf("starting strait agent: %v", err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		select {
		case <-a.done:
			if t.Failed() {
				t.Logf("strait agent had exited by itself: %v", a.err)
			}
		default:
		}
		a.Stop()
		if t.Failed() {
			t.Logf("strait agent log (last 4 KB):\n%s", tail(a.Log(), 4096))
		}
	})
	return a
}

// Log is what the agent wrote so far.
func (a *AgentProcess) Log() string {
	b, _ := os.ReadFile(a.logPath)
	return string(b)
}

// Kill kills the agent with SIGKILL and waits for it.
func (a *AgentProcess) Kill() {
	_ = a.cmd.Process.Kill()
	<-a.done
}

// Stop stops the agent with SIGTERM (SIGKILL after 30 s) and waits for it
// (idempotent).
func (a *AgentProcess) Stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		a.Kill()
	}
}

// Exit waits up to timeout for the agent to exit by itself and returns its
// exit error; it fails the test if the agent is still running then.
func (a *AgentProcess) Exit(timeout time.Duration) error {
	a.t.Helper()
	select {
	case <-a.done:
		return a.err
	case <-time.After(timeout):
		a.t.Fatalf("strait agent still runs after %s:\n%s", timeout, tail(a.Log(), 4096))
		return nil
	}
}
