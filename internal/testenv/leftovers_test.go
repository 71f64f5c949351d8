package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"strait/internal/agent/netns"
)

// TestSweepLeftovers: the namespaces and directories registered by a test run
// that was killed (its registration's lock holder died with SIGKILL, as a test
// binary killed by -timeout does) are removed by the next sweep; those of a run
// that is alive are left alone.
func TestSweepLeftovers(t *testing.T) {
	RequireRoot(t)
	if err := os.MkdirAll(leftoverDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A run: a namespace of its tag, a temporary directory, and a process holding
	// the registration's lock.
	run := func() (ns, dir, path string, holder *exec.Cmd) {
		b := make([]byte, 3)
		rand.Read(b)
		tag := hex.EncodeToString(b)
		ns = "strait-" + tag + "-vpc-0123456789abcdef0"
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() { netns.Down(tag) })
		dir, err := os.MkdirTemp("", "strait-leftover-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		data, _ := json.Marshal(registration{Tag: tag, Dirs: []string{filepath.Join(dir, "001")}})
		path = filepath.Join(leftoverDir, "test-"+tag)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(path) })
		if err := os.Mkdir(filepath.Join(dir, "001"), 0o700); err != nil {
			t.Fatal(err)
		}
		// flock and its sleep share the locked file: both are killed, as a group.
		holder = exec.Command("flock", "--exclusive", path, "sleep", "600")
		holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-holder.Process.Pid, syscall.SIGKILL); holder.Wait() })
		waitLock(t, path, true)
		return ns, dir, path, holder
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	deadNS, deadDir, deadReg, killed := run()
	liveNS, liveDir, _, _ := run()
	syscall.Kill(-killed.Process.Pid, syscall.SIGKILL) // no cleanup of any kind
	killed.Wait()
	waitLock(t, deadReg, false) // the kernel has closed the killed holder's files

	SweepLeftovers(t)
	if exists("/run/netns/"+deadNS) || exists(deadDir) || exists(deadReg) {
		t.Errorf("after the sweep, the killed run's namespace exists: %v, its directory: %v, its registration: %v",
			exists("/run/netns/"+deadNS), exists(deadDir), exists(deadReg))
	}
	if !exists("/run/netns/"+liveNS) || !exists(filepath.Join(liveDir, "001")) {
		t.Errorf("the sweep removed a live run's namespace or directory")
	}
}

// waitLock waits until path is locked by another process (held) or free.
func waitLock(t *testing.T, path string, held bool) {
	t.Helper()
	Eventually(t, time.Minute, fmt.Sprintf("%s locked: %v", path, held), func() error {
		err := exec.Command("flock", "--nonblock", "--exclusive", path, "true").Run()
		if (err != nil) != held {
			return fmt.Errorf("flock --nonblock: %v", err)
		}
		return nil
	})
}
