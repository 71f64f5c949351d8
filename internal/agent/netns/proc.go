package netns

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// How long processes get to exit after SIGTERM, and after SIGKILL.
const (
	termGrace = 2 * time.Second
	killGrace = 2 * time.Second
)

// nsProcesses lists the processes whose network namespace is the named one (this
// process excepted: its threads only visit namespaces).
func nsProcesses(name string) ([]int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat(nsPath(name), &want); err != nil {
		return nil, err
	}
	dir, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	entries, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e)
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		// Fails for processes that are gone or zombies (their namespaces are released).
		if syscall.Stat("/proc/"+e+"/ns/net", &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killNamespace ends every process in the named namespace: SIGTERM, then SIGKILL
// for those still there after termGrace. It fails if some survive SIGKILL.
func killNamespace(name string) error {
	if !nsExists(name) {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pids, err := nsProcesses(name)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			syscall.Kill(pid, sig)
		}
		grace := termGrace
		if sig == syscall.SIGKILL {
			grace = killGrace
		}
		for deadline := time.Now().Add(grace); time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			if pids, err = nsProcesses(name); err != nil || len(pids) == 0 {
				return err
			}
		}
	}
	pids, err := nsProcesses(name)
	if err == nil && len(pids) > 0 {
		err = fmt.Errorf("processes %v in namespace %s survived SIGKILL", pids, name)
	}
	return err
}
