package dataplane

import (
	"sync"
	"sync/atomic"

	"strait/internal/model"
)

// reporter hands health changes to Options.Report from one goroutine, in the
// order they happened, so that a slow Report (a store write) never holds up
// health checks or Configure, and Report may call back into the Proxy.
type reporter struct {
	fn    HealthReport
	hook  atomic.Pointer[func()] // Proxy.OnHealthChange's
	mu    sync.Mutex
	queue []healthChange
	wake  chan struct{} // capacity 1
	stop  chan struct{}
	done  chan struct{}
}

// healthChange is one queued report.
type healthChange struct {
	group  string
	target Target
	health model.TargetHealth
}

func newReporter(fn HealthReport) *reporter {
	r := &reporter{fn: fn, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// add queues a report.
func (r *reporter) add(c healthChange) {
	if r.fn == nil && r.hook.Load() == nil {
		return
	}
	r.mu.Lock()
	r.queue = append(r.queue, c)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) run() {
	defer close(r.done)
	for {
		select {
		case <-r.wake:
			r.flush()
		case <-r.stop:
			r.flush()
			return
		}
	}
}

func (r *reporter) flush() {
	for {
		r.mu.Lock()
		q := r.queue
		r.queue = nil
		r.mu.Unlock()
		if len(q) == 0 {
			return
		}
		if h := r.hook.Load(); h != nil {
			(*h)()
		}
		if r.fn == nil {
			continue
		}
		for _, c := range q {
			r.fn(c.group, c.target, c.health)
		}
	}
}

// close delivers the queued reports and stops; nothing is reported afterwards.
func (r *reporter) close() {
	close(r.stop)
	<-r.done
}
