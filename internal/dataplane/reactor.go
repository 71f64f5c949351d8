package dataplane

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// reactor waits for readiness of relay directions with an epoll instance of
// its own, so an idle connection needs no goroutine. Registrations are
// edge-triggered and made once per descriptor, so parking a direction costs
// no system call; an edge that comes while the direction runs marks it
// pending (pump.wake). The epoll descriptor itself sits in the Go runtime's
// poller, so the reactor's goroutine parks there like any network goroutine
// (no thread blocked in epoll_wait) and wakes when an event is ready.
type reactor struct {
	fd   int // the epoll descriptor; valid until close
	file *os.File
	raw  syscall.RawConn
	wake func(key uint64) // called for each event with its registration key
	done chan struct{}
}

// reactorBatch is how many events one epoll_wait returns at most.
const reactorBatch = 128

// newReactor creates the epoll instance and starts the goroutine that hands
// its events to wake.
func newReactor(wake func(key uint64)) (*reactor, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that os.NewFile registers it with the runtime poller.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "strait-reactor")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &reactor{fd: fd, file: f, raw: raw, wake: wake, done: make(chan struct{})}
	go r.loop()
	return r, nil
}

// loop collects the ready events without blocking and dispatches them; when
// none is left it waits for the epoll descriptor to become readable in the
// runtime poller (edge-triggered there: every event queued after the last
// epoll_wait wakes it). It returns when the reactor is closed.
func (r *reactor) loop() {
	defer close(r.done)
	var events [reactorBatch]unix.EpollEvent
	r.raw.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events[:], 0)
			if err == unix.EINTR {
				continue
			}
			for i := range n {
				r.wake(eventKey(&events[i]))
			}
			if n < len(events) {
				return false // drained: wait
			}
		}
	})
}

// add registers fd, edge-triggered, for events with key: every later
// readiness edge reports key once.
func (r *reactor) add(fd int, events uint32, key uint64) error {
	ev := unix.EpollEvent{Events: events | unix.EPOLLET}
	setEventKey(&ev, key)
	return unix.EpollCtl(r.fd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// remove forgets fd. It must run before fd is closed: once the number is
// reused, a late removal would hit another connection's registration (and a
// file kept open elsewhere would keep its registration alive).
func (r *reactor) remove(fd int) {
	unix.EpollCtl(r.fd, unix.EPOLL_CTL_DEL, fd, nil)
}

// close stops the goroutine and closes the epoll descriptor. Every registered
// descriptor must have been removed.
func (r *reactor) close() {
	r.file.Close()
	<-r.done
}

// eventKey and setEventKey keep a 64-bit key in the epoll_event's data (Fd and
// Pad are its two 32-bit halves on every Linux architecture).
func eventKey(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

func setEventKey(ev *unix.EpollEvent, key uint64) {
	ev.Fd, ev.Pad = int32(uint32(key)), int32(uint32(key>>32))
}
