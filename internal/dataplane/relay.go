package dataplane

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A relayed connection runs two goroutines, one per direction, and nothing else
// (no timer goroutines: idle timeouts are read/write deadlines in the runtime
// poller). What an idle connection holds:
//   - goroutines: 2, each parked in the runtime poller waiting for its source to
//     become readable (stacks start at 2 KiB and shrink back after bursts);
//   - descriptors: 2, the client socket and the target socket;
//   - pipes: none. A direction waits for readability before it takes a pipe from
//     the pool and returns the pipe once it is drained and the source would
//     block, so only connections moving data hold a pipe (2 descriptors);
//   - heap: the session (with both pumps), two net.TCPConns with their poll
//     descriptors and a registry entry, a few hundred bytes.
// Kernel memory is the two sockets' buffers; no pipe pages.

// errIdleTimeout ends a connection that moved no byte for its idle timeout.
var errIdleTimeout = errors.New("dataplane: idle timeout")

// spliceMax is the most a single splice call moves from a socket into a pipe; the
// pipe's capacity bounds it further.
const spliceMax = 1 << 20

// session is one relayed connection: client ↔ target.
type session struct {
	p      *Proxy
	client net.Conn
	target *net.TCPConn
	lis    *listenerRoute // the route the connection took
	ref    *targetRef     // the target it reached
	ep     *endpointCounters
	svc    *counters

	idle      int64        // idle timeout, ns
	last      atomic.Int64 // last byte moved either way, ns since p.epoch
	running   atomic.Int32 // directions still running
	closeOnce sync.Once

	up, down pump // client → target, target → client
}

// pump copies one direction of a session.
type pump struct {
	s        *session
	srcConn  net.Conn
	dstConn  net.Conn
	src, dst syscall.RawConn // nil: not TCP, copy through a buffer
	count    [2]*atomic.Uint64

	// Splice loop state, used only by this direction's goroutine.
	readFn, writeFn func(fd uintptr) bool
	pipe            *pipe
	buffered        int  // bytes in pipe
	calls           int  // readFn calls in the current RawConn.Read
	eof             bool // source reached EOF
	err             error
	peek            [1]byte
}

// start relays the session: it sets the idle deadlines and starts one goroutine
// per direction. The last direction to end closes the session.
func (s *session) start() {
	s.last.Store(s.p.clock())
	deadline := time.Now().Add(time.Duration(s.idle))
	s.client.SetDeadline(deadline)
	s.target.SetDeadline(deadline)

	s.up = pump{s: s, srcConn: s.client, dstConn: s.target}
	s.down = pump{s: s, srcConn: s.target, dstConn: s.client}
	if s.ep != nil {
		s.up.count[0], s.down.count[0] = &s.ep.bytesIn, &s.ep.bytesOut
	}
	if s.svc != nil {
		s.up.count[1], s.down.count[1] = &s.svc.bytesIn, &s.svc.bytesOut
	}
	if c, ok := s.client.(*net.TCPConn); ok {
		cr, err1 := c.SyscallConn()
		tr, err2 := s.target.SyscallConn()
		if err1 == nil && err2 == nil {
			s.up.src, s.up.dst = cr, tr
			s.down.src, s.down.dst = tr, cr
		}
	}
	s.running.Store(2)
	s.p.wg.Add(2)
	go s.up.run()
	go s.down.run()
}

// run copies until the source ends, then half-closes the destination; on any
// other end it closes both sides.
func (d *pump) run() {
	defer d.s.p.wg.Done()
	var err error
	if d.src != nil {
		d.readFn, d.writeFn = d.onReadable, d.onWritable
		err = d.splice()
		if d.pipe != nil {
			putPipe(d.pipe, d.buffered)
			d.pipe = nil
		}
	} else {
		err = d.copy()
	}
	s := d.s
	switch {
	case err == io.EOF:
		if cw, ok := d.dstConn.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
			s.close()
		}
	case errors.Is(err, syscall.ECONNRESET):
		// Pass the reset on, as the NLB does.
		if tc, ok := d.dstConn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		s.close()
	default:
		if err != errIdleTimeout && !errors.Is(err, net.ErrClosed) {
			s.p.log.Debug("relay ended", "target", s.ref.label, "error", err)
		}
		s.close()
	}
	if s.running.Add(-1) == 0 {
		s.close()
		s.p.unregister(s)
	}
}

// splice moves bytes src → pipe → dst until EOF or an error.
func (d *pump) splice() error {
	for {
		d.calls = 0
		if err := d.src.Read(d.readFn); err != nil {
			if err = d.s.extend(err, d.srcConn.SetReadDeadline); err != nil {
				return err
			}
			continue
		}
		if d.err != nil {
			return d.err
		}
		if d.eof {
			return io.EOF
		}
		for d.buffered > 0 {
			if err := d.dst.Write(d.writeFn); err != nil {
				if err = d.s.extend(err, d.dstConn.SetWriteDeadline); err != nil {
					return err
				}
				continue
			}
			if d.err != nil {
				return d.err
			}
		}
	}
}

// onReadable is the RawConn.Read callback: it returns false to wait for the
// source to become readable and true once it moved bytes into the pipe, reached
// EOF or failed. It takes a pipe only when the source is readable.
func (d *pump) onReadable(fd uintptr) bool {
	d.calls++
	if d.pipe == nil {
		// The first call of a Read comes before any readiness notification: check
		// for data (or EOF) without taking a pipe. Later calls follow one.
		if d.calls == 1 {
			_, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&d.peek[0])), 1,
				unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
			if e == unix.EAGAIN {
				return false
			}
		}
		p, err := getPipe()
		if err != nil {
			d.err = err
			return true
		}
		d.pipe = p
	}
	for {
		n, err := unix.Splice(int(fd), nil, d.pipe.w, nil, min(d.pipe.size, spliceMax), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case n > 0:
			d.buffered = int(n)
			d.s.last.Store(d.s.p.clock())
			return true
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			// Drained and the source would block: give the pipe back and wait.
			putPipe(d.pipe, 0)
			d.pipe = nil
			return false
		case err == nil:
			d.eof = true
		default:
			d.err = err
		}
		putPipe(d.pipe, 0)
		d.pipe = nil
		return true
	}
}

// onWritable is the RawConn.Write callback: it drains the pipe into the
// destination, returning false to wait for writability.
func (d *pump) onWritable(fd uintptr) bool {
	for d.buffered > 0 {
		n, err := unix.Splice(d.pipe.r, nil, int(fd), nil, d.buffered, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case n > 0:
			d.buffered -= int(n)
			d.moved(uint64(n))
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return false
		case err == nil:
			d.err = io.ErrUnexpectedEOF
			return true
		default:
			d.err = err
			return true
		}
	}
	return true
}

// moved records n bytes delivered: activity and counters.
func (d *pump) moved(n uint64) {
	d.s.last.Store(d.s.p.clock())
	for _, c := range d.count {
		if c != nil {
			c.Add(n)
		}
	}
}

// copyBufs are the buffers of relays whose client is not a TCP connection.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copy is the fallback for non-TCP client connections: read into a buffer and
// write it out, with the same idle-timeout and counting rules.
func (d *pump) copy() error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := d.srcConn.Read(buf)
		if n > 0 {
			d.s.last.Store(d.s.p.clock())
			for off := 0; off < n; {
				m, werr := d.dstConn.Write(buf[off:n])
				off += m
				if m > 0 {
					d.moved(uint64(m))
				}
				if werr != nil {
					if werr = d.s.extend(werr, d.dstConn.SetWriteDeadline); werr != nil {
						return werr
					}
				}
			}
		}
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			if err = d.s.extend(err, d.srcConn.SetReadDeadline); err != nil {
				return err
			}
		}
	}
}

// extend handles an error of a read or write: an expired deadline on a
// connection that moved bytes (either way) within its idle timeout is pushed to
// last activity + idle timeout and nil is returned; an idle connection gets
// errIdleTimeout; other errors are returned as they are.
func (s *session) extend(err error, set func(time.Time) error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	last := s.last.Load()
	if s.p.clock()-last >= s.idle {
		return errIdleTimeout
	}
	set(s.p.epoch.Add(time.Duration(last + s.idle)))
	return nil
}

// close closes both sides; the directions see it and end.
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.client.Close()
		s.target.Close()
	})
}
