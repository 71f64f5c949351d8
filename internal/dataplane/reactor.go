package dataplane

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reactor waits for readiness of relay directions with an epoll instance of
// its own, so an idle connection needs no goroutine. Registrations are
// edge-triggered and made once per descriptor, so parking a direction costs
// no system call; an edge that comes while the direction runs marks it
// pending (pump.wake). The epoll descriptor itself sits in the Go runtime's
// poller, so the reactor's goroutine parks there like any network goroutine
// (no thread blocked in epoll_wait) and wakes when an event is ready. A
// direction that used its turn's budget (pump.run) stays with the reactor,
// which runs it again, round robin with the others, after collecting the
// events that came meanwhile: a busy connection neither holds up the others
// nor costs a goroutine switch.
type reactor struct {
	fd   int // the epoll descriptor; valid until close
	file *os.File
	raw  syscall.RawConn
	// wake is called for each event with its registration key and events; it
	// returns the direction it ran if that yielded (to be resumed), else nil.
	wake func(key uint64, events uint32) yielder
	done chan struct{}
}

// yielder is a relay direction that used its turn's budget on a reactor's
// goroutine (*pump): resume runs its next turn and reports whether it yielded
// again.
type yielder interface{ resume() bool }

// reactorBatch is how many events one epoll_wait returns at most.
const reactorBatch = 128

// newReactor creates the epoll instance and starts the goroutine that hands
// its events to wake.
func newReactor(wake func(key uint64, events uint32) yielder) (*reactor, error) {
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

// loop collects the ready events without blocking and dispatches them, then
// gives every direction that yielded another turn; when no event and no such
// direction is left it waits for the epoll descriptor to become readable in
// the runtime poller (edge-triggered there: every event queued after the last
// epoll_wait wakes it). It returns when the reactor is closed.
func (r *reactor) loop() {
	defer close(r.done)
	var events [reactorBatch]unix.EpollEvent
	var ready, turn []yielder // directions that yielded, to resume
	r.raw.Read(func(fd uintptr) bool {
		for {
			n, err := pollNow(int(fd), events[:])
			if err == unix.EINTR {
				continue
			}
			for i := range n {
				if d := r.wake(eventKey(&events[i]), events[i].Events); d != nil {
					ready = append(ready, d)
				}
			}
			if n == len(events) {
				continue // more events may be queued
			}
			if len(ready) == 0 {
				return false // drained: wait
			}
			ready, turn = turn[:0], ready
			for i, d := range turn {
				if d.resume() {
					ready = append(ready, d)
				}
				turn[i] = nil
			}
		}
	})
}

// pollNow collects the ready events of epoll descriptor epfd without
// waiting. It is a raw system call, as it never blocks: the scheduler is not
// told (an ordinary one would wake the runtime's monitor thread after every
// idle period, and it would poll at its fastest for the next millisecond).
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// add registers fd, edge-triggered, for events with key: every later
// readiness edge reports key once.
func (r *reactor) add(fd int, events uint32, key uint64) error {
	ev := unix.EpollEvent{Events: events | unix.EPOLLET}
	setEventKey(&ev, key)
	return rawEpollCtl(r.fd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// close stops the goroutine and closes the epoll descriptor, which ends the
// registrations left. (There is no remove: closing the only descriptor of a
// registered file ends its registration, which is how relayed sockets leave,
// see session.release.)
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
