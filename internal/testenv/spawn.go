package testenv

import (
	"os/exec"
	"runtime"
	"sync"
)

// Children started with SysProcAttr.Pdeathsig get the signal when the OS
// thread that forked them ends, not when the test process does, and Go ends
// threads: every goroutine that enters a namespace on a locked thread and
// exits without unlocking it (netns.InInstance, Datacenter.Capture) takes its
// thread with it. So such children are forked from one thread that lives as
// long as the test process.

// spawner is the test process's forking thread (one per process, as the
// threads it guards against are).
var spawner struct {
	once sync.Once
	reqs chan func()
}

// startOnLivingThread starts cmd from a thread that never ends, so that its
// Pdeathsig fires only when the test process dies.
func startOnLivingThread(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this goroutine never returns
			for f := range spawner.reqs {
				f()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- func() { done <- cmd.Start() }
	return <-done
}
