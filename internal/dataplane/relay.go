package dataplane

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A relayed TCP connection is event-driven: a direction runs only while it
// moves bytes, and parks when its source has nothing to read or its
// destination cannot take more. Parked directions wait in a reactor
// (reactor.go), an epoll instance of the proxy's with edge-triggered
// registrations made once per descriptor, so parking costs no system call.
// A reactor runs a woken direction on its own goroutine until the direction
// parks again or has moved inlineBudget bytes; then the direction yields and
// the reactor runs it again after the events that came meanwhile, so a busy
// connection costs no goroutine switch and holds up no other. Whatever may
// wait for a lock held during a dial (committing to the target, dialling
// another) goes to a new goroutine. Bytes move by splice through a pipe in
// bulk and by read and write through a small buffer while reads are small
// (see smallRead). None of a relay's system calls blocks, so they are raw
// system calls (splice, pollNow, rawsys.go): the Go scheduler is not
// involved, which would otherwise hand the processor to another thread during
// a long splice and keep its monitor thread polling every 20 µs after each
// idle period. The session owns the two socket descriptors — the client's
// straight from accept4 (accept.go), the target's from the Dialer — neither of
// which is ever in the Go runtime's poller, so each socket has one epoll
// registration for its reads. Idle timeouts are a scan every second
// (relays.scan), not timers.
//
// What an idle connection holds (TestIdleFootprint and BenchmarkIdle measure it):
//   - goroutines: none;
//   - descriptors: 2, the client socket and the target socket;
//   - pipes and buffers: none. A direction takes a small buffer (small reads)
//     or a pipe (bulk) from its pool only once its source is readable and
//     gives it back as soon as it is drained and the source would block;
//   - heap: the session with both pumps and its entries in the proxy's session
//     set and the relay registry, about 0.6 KiB (the retry state is dropped
//     once the first byte went out);
//   - kernel: the two sockets and their two epoll registrations (a third and
//     fourth only if a destination was ever full), no pipe pages.
//
// When no reactor could be created (no epoll), connections use the fallback:
// both sockets become net.TCPConns and one goroutine per direction copies
// through a buffer (copy, below), with the same idle scan.

// spliceMax is the most a single splice call moves from a socket into a pipe; the
// pipe's capacity bounds it further.
const spliceMax = 1 << 20

// Direction states. Only the goroutine that moved a direction into pumpRunning
// runs it; the others only compare-and-swap the state.
const (
	pumpNew     int32 = iota // prepared, not started
	pumpRunning              // a goroutine runs the direction
	pumpPending              // running, and an event came since its last attempt
	pumpParked               // waiting for an event; no goroutine
	pumpDone                 // ended
)

// errClosed ends a direction whose session was closed.
var errClosed = errors.New("dataplane: session closed")

// pump copies one direction of a session.
type pump struct {
	s     *session
	down  bool   // target → client
	key   uint64 // reactor registration key: session id << 1 | down
	state atomic.Int32
	count [2]*atomic.Uint64
	any   bool // moved a byte

	// Splicing (the event-driven relay).
	src, dst       int  // descriptors; for client → target, dst is valid once hasDst
	srcReg, dstReg bool // src is registered in the readability reactor, dst in the writability one
	pipe           *pipe
	buffered       int   // bytes in pipe
	sb             small // the small-read buffer

	// The fallback: connections, copied through a buffer.
	srcConn, dstConn net.Conn

	hasDst bool // the destination is known: always for target → client, after commit for client → target
	corked bool // client → target: the target's PROXY v2 header is held back until the first write (route.holdHeader)

	// events are the epoll events the running turn was woken for (0: none
	// known); drained is set when a read showed the source drained (see
	// drainedBy): the next read is skipped.
	events  uint32
	drained bool
}

// drainedBy reports whether a read of n bytes into a buffer of size bytes,
// after a wake-up for events, leaves the source socket drained: the read was
// short (a TCP read takes everything queued up to its size), and the
// wake-up reported readable data but no end of stream or error, which were
// otherwise queued already and will not be reported again. Whatever arrives
// after the wake-up was reported is reported again (edge-triggered), so the
// direction may park without reading until EAGAIN.
func drainedBy(events uint32, n, size int) bool {
	return n < size && events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == unix.EPOLLIN
}

// smallRead is the size of the buffer a direction reads into while its reads
// are small: a connection's first bytes, requests and responses. Reading and
// writing a few bytes through a buffer costs less than splicing them through
// a pipe (which moves page references and makes the destination's packets
// point into pages); a read that fills the buffer switches the direction to
// the pipe until a splice brings less than smallRead again.
const smallRead = 4 << 10

// small is a direction's small-read state: the buffer (from smallBufs, held
// only while the source is readable, like the pipe) with bytes off:len not
// written yet, and whether the last read was large (bulk: splice next).
type small struct {
	buf      *[smallRead]byte
	off, len int
	bulk     bool
}

// unsent is how many bytes the buffer holds that were not written yet.
func (b *small) unsent() int { return b.len - b.off }

// smallBufs holds the small-read buffers that no direction is using.
var smallBufs = sync.Pool{New: func() any { return new([smallRead]byte) }}

// inlineBudget is how many bytes a direction moves on a reactor's goroutine
// in one turn: then it yields, so that a busy connection does not hold up the
// reactor's other events.
const inlineBudget = 1 << 20

// run moves bytes until the direction must wait, which parks it and returns,
// or until it ends. Inline, it runs on a goroutine that must not block (a
// reactor's, or the accepting one): it hands off to a new goroutine before
// anything that waits for s.mu, which retarget holds while it dials
// (committing while a retarget runs, retarget, ending without a destination
// then), and after inlineBudget bytes it returns yield true: the direction
// stays running and the reactor runs it again (resume) after its other events.
//
// Small reads go through a buffer (read, write); once a read fills it, the
// direction splices through a pipe until a read brings less again (see small).
func (d *pump) run(inline bool) (yield bool) {
	s := d.s
	budget := inlineBudget
	for {
		if s.closed.Load() {
			d.end(errClosed)
			return
		}
		if d.buffered > 0 || d.sb.unsent() > 0 {
			if !d.hasDst {
				if inline && !d.s.tryCommit(d) {
					// Committing waits for a retarget's dial that runs: not
					// on a reactor's goroutine.
					go d.run(false)
					return
				}
				d.commit()
			}
			var n int
			var err error
			if d.buffered > 0 {
				n, err = splice(d.pipe.r, d.dst, d.buffered)
			} else {
				n, err = rawWrite(d.dst, d.sb.buf[d.sb.off:d.sb.len])
			}
			switch {
			case n > 0:
				d.corked = false // the write pushed the header out with it
				if d.buffered > 0 {
					d.buffered -= n
				} else {
					d.sb.off += n
				}
				d.moved(uint64(n))
			case err == unix.EINTR:
			case err == unix.EAGAIN:
				if !d.dstReg {
					// Registered the first time the destination is full; the
					// registration reports at once if it is writable already.
					if err := s.reactors.tx.add(d.dst, unix.EPOLLOUT, d.key); err != nil {
						d.end(err)
						return
					}
					d.dstReg = true
				}
				if d.park() {
					return
				}
			case err == nil:
				d.end(io.ErrUnexpectedEOF)
				return
			default:
				d.end(err)
				return
			}
			continue
		}
		var n int
		var err error
		if d.pipe == nil && !d.sb.bulk {
			if d.drained {
				d.drained = false
				n, err = 0, unix.EAGAIN
			} else {
				if d.sb.buf == nil {
					d.sb.buf = smallBufs.Get().(*[smallRead]byte)
				}
				n, err = rawRead(d.src, d.sb.buf[:])
				if n > 0 {
					d.sb.off, d.sb.len, d.sb.bulk = 0, n, n == smallRead
					d.drained = drainedBy(d.events, n, smallRead)
				}
				d.events = 0 // what the wake-up said holds for its first read only
			}
		} else {
			if d.pipe == nil {
				p, err := getPipe()
				if err != nil {
					// No pipe (out of descriptors): copy through the small
					// buffer instead of breaking the connection.
					d.sb.bulk = false
					continue
				}
				d.pipe = p
			}
			n, err = splice(d.src, d.pipe.w, min(d.pipe.size, spliceMax))
			if n > 0 {
				d.buffered, d.sb.bulk = n, n >= smallRead
			}
		}
		switch {
		case n > 0:
			s.last.Store(s.p.clock())
			if budget -= n; inline && budget <= 0 {
				return true
			}
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			// Drained and the source would block: give the buffers back and wait.
			d.putBuffers()
			if d.corked && !d.pushHeader(inline) {
				go d.run(false) // pushing waits for s.mu: not on a reactor's goroutine
				return
			}
			if d.park() {
				return
			}
		default:
			d.putBuffers()
			if err == nil {
				err = io.EOF
			}
			if d.down && !d.any && errors.Is(err, syscall.ECONNRESET) {
				if inline {
					go d.retarget(err)
					return
				}
				if s.retarget() {
					continue
				}
			}
			if inline && !d.hasDst && !d.s.tryCommit(d) {
				go d.end(err) // it commits, which waits for the retarget
				return
			}
			d.end(err)
			return
		}
	}
}

// pushHeader sends the target's PROXY v2 header, held back since the dial,
// when the client has sent nothing yet: the target must not wait for it. It
// needs s.mu, as a retarget may replace the target socket (a retarget sends
// its new target's header at once). Inline, it does not wait for s.mu (held
// by a retarget while it dials, or briefly by dropRetry) and reports false
// if it is taken: the caller goes on on a new goroutine, which may wait.
func (d *pump) pushHeader(inline bool) bool {
	s := d.s
	if !inline {
		s.mu.Lock()
	} else if !s.mu.TryLock() {
		return false
	}
	defer s.mu.Unlock()
	d.corked = false
	if err := rawPush(s.tfd); err != nil {
		s.p.log.Debug("PROXY v2 header not pushed", "error", err)
	}
	return true
}

// putBuffers gives the direction's empty pipe and small buffer back.
func (d *pump) putBuffers() {
	if d.pipe != nil {
		putPipe(d.pipe, 0)
		d.pipe = nil
	}
	if d.sb.buf != nil {
		smallBufs.Put(d.sb.buf)
		d.sb.buf = nil
	}
}

// retarget goes on with another target after the target reset the connection
// (err) before any byte moved, if there is one.
func (d *pump) retarget(err error) {
	if d.s.retarget() {
		d.run(false)
		return
	}
	d.end(err)
}

// park makes the direction wait for an event of its descriptors, which stay
// registered (edge-triggered). It reports true if the direction is parked:
// the calling goroutine must return at once without touching the pump, which
// another goroutine may run already. It reports false if an event came since
// the last attempt or the session was closed: the caller goes on.
func (d *pump) park() bool {
	if !d.state.CompareAndSwap(pumpRunning, pumpParked) {
		d.state.Store(pumpRunning) // pending: try again
		return false
	}
	// A close that ran before the direction was parked left it to this
	// goroutine: take it back, unless the reactor or close already did.
	if d.s.closed.Load() && d.state.CompareAndSwap(pumpParked, pumpRunning) {
		return false
	}
	return true
}

// wake resumes a parked direction, on the calling goroutine if inline (a
// reactor's) else on a new one, or marks a running one pending so that it
// tries again before parking. It is called by the reactors and by close.
// Inline, it reports whether the direction yielded: the reactor must resume
// it later.
//
// events are the epoll events that woke the direction (0 when not a reactor's
// readiness report): the turn uses them to know when its source is drained
// without asking again (see drainedBy).
func (d *pump) wake(inline bool, events uint32) (yield bool) {
	for {
		switch d.state.Load() {
		case pumpParked:
			if d.state.CompareAndSwap(pumpParked, pumpRunning) {
				d.events = events
				if inline {
					return d.run(true)
				}
				go d.run(false)
				return false
			}
		case pumpRunning:
			if d.state.CompareAndSwap(pumpRunning, pumpPending) {
				return false
			}
		default:
			return false
		}
	}
}

// resume gives a direction that yielded its next turn on the reactor's
// goroutine; it reports whether it yielded again.
func (d *pump) resume() bool {
	return d.run(true)
}

// commit gives the client → target direction its destination before the first
// byte or FIN goes there.
func (d *pump) commit() {
	if d.hasDst {
		return
	}
	d.s.commit(d)
}

// end finishes the direction after err: at EOF it half-closes the destination;
// a reset is passed on; any other end closes the session. The last direction
// to end releases the session.
func (d *pump) end(err error) {
	s := d.s
	if d.pipe != nil {
		putPipe(d.pipe, d.buffered)
		d.pipe, d.buffered = nil, 0
	}
	if d.sb.buf != nil {
		smallBufs.Put(d.sb.buf)
		d.sb = small{}
	}
	switch {
	case s.closed.Load():
	case err == io.EOF:
		if !d.down {
			d.commit()
		}
		// The last direction to end needs no half-close: release closes both
		// sockets at once, which sends the FIN.
		if s.running.Load() > 1 && s.closeWrite(d) != nil {
			s.close()
		}
	case errors.Is(err, syscall.ECONNRESET):
		// Pass the reset on, as the NLB does.
		s.resetOnClose(d)
		s.close()
	default:
		if !errors.Is(err, errClosed) {
			s.p.log.Debug("relay ended", "target", s.ref.Load().label, "error", err)
		}
		s.close()
	}
	d.state.Store(pumpDone)
	if s.running.Add(-1) == 0 {
		s.release()
	}
	s.p.wg.Done()
}

// moved records n bytes delivered: activity and counters.
func (d *pump) moved(n uint64) {
	if !d.any {
		d.any = true
		if d.down {
			d.s.dropRetry() // the client saw a byte of this target: it is final
		}
	}
	d.s.last.Store(d.s.p.clock())
	for _, c := range d.count {
		if c != nil {
			c.Add(n)
		}
	}
}

// copyBufs are the buffers of the fallback relay.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// runCopy is the fallback relay of one direction: it copies through a buffer
// until the source ends, switching to another target like run does.
func (d *pump) runCopy() {
	for {
		err := d.copy()
		if d.down && !d.any && errors.Is(err, syscall.ECONNRESET) && d.s.retarget() {
			continue
		}
		d.end(err)
		return
	}
}

// copy reads into a buffer and writes it out until EOF or an error.
func (d *pump) copy() error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := d.srcConn.Read(buf)
		if n > 0 {
			d.s.last.Store(d.s.p.clock())
			d.commit()
			for off := 0; off < n; {
				m, werr := d.dstConn.Write(buf[off:n])
				off += m
				if m > 0 {
					d.moved(uint64(m))
				}
				if werr != nil {
					return werr
				}
			}
		}
		if err != nil {
			return err
		}
	}
}
