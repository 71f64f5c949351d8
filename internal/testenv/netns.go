package testenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strait/internal/agent/netns"
	"strait/internal/server"
)

// StartNetns runs a server with the netns data plane (root only; under STRAIT_E2E=1
// a missing privilege fails the test). When the test ends it stops the server,
// runs `strait down` for its data directory and fails if any namespace of it is left.
// If the test run is killed instead, the next test that starts a data plane
// removes them (RegisterDataplane).
func StartNetns(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	RequireRoot(t)
	cfg.Dataplane = "netns"
	cfg.Dev = true
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	downAtCleanup(t, cfg.DataDir)
	return StartConfig(t, cfg)
}

// downAtCleanup removes, when the test ends (after the server stopped: cleanups
// run last-registered first), what the data plane of the server on dataDir
// created, and fails the test if a namespace of it is left.
func downAtCleanup(t testing.TB, dataDir string) {
	tag := netns.TagFor(dataDir)
	RegisterDataplane(t, tag, dataDir)
	t.Cleanup(func() {
		if err := stopRelay(dataDir); err != nil {
			t.Errorf("stopping the relay process: %v", err)
		}
		if _, err := netns.Down(tag); err != nil {
			t.Errorf("strait down: %v", err)
		}
		if left := Namespaces(t, tag); len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	})
}

// Namespaces lists the network namespaces of the server with tag.
func Namespaces(t testing.TB, tag string) []string {
	t.Helper()
	names, _ := filepath.Glob("/var/run/netns/strait-" + tag + "-*")
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// instanceNamespace finds the namespace of an instance (any server's).
func instanceNamespace(t testing.TB, id string) string {
	t.Helper()
	name, err := netns.InstanceNamespace(id)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// ListenIn opens a TCP listener inside an instance (addr like ":3306"); it is
// closed when the test ends.
func ListenIn(t testing.TB, instanceID, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := netns.InInstance(instanceID, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listening in %s on %s: %v", instanceID, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// DialFrom connects from inside an instance to addr (host:port, an IP address).
func DialFrom(t testing.TB, instanceID, addr string, timeout time.Duration) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	err := netns.InInstance(instanceID, func() (err error) {
		// The socket is created (and connects) while the thread is in the namespace.
		c, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	})
	return c, err
}

// Exec runs a command inside an instance as `strait exec` does and returns its
// stdout, stderr and exit code.
func Exec(t testing.TB, instanceID string, argv ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code, err := netns.Exec(instanceID, argv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("exec in %s: %v", instanceID, err)
	}
	return stdout.String(), stderr.String(), code
}

// Background starts a long-running program inside an instance; it is killed when
// the test ends.
func Background(t testing.TB, instanceID string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", instanceNamespace(t, instanceID)}, argv...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v in %s: %v", argv, instanceID, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("output of %v:\n%s", argv, out.String())
		}
	})
	return cmd
}

// Eventually polls cond every 50 ms until it returns nil or timeout passes, then
// fails the test with the last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
