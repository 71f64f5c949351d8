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
// poller). What an idle connection holds (TestIdleFootprint measures it):
//   - goroutines: 2, each parked in the runtime poller waiting for its source to
//     become readable: 2 stacks of 2 KiB (grown stacks shrink back at GC) and
//     2 goroutine descriptors of about 0.4 KiB each on the heap;
//   - descriptors: 2, the client socket and the target socket;
//   - pipes: none. A direction waits for readability before it takes a pipe from
//     the pool and returns the pipe once it is drained and the source would
//     block, so only connections moving data hold a pipe (2 descriptors);
//   - heap besides the goroutines: the session with both pumps, two
//     net.TCPConns with their addresses, two RawConns and a registry entry,
//     under 1 KiB (the retry state is dropped once the first byte went out).
// Kernel memory: the two sockets, no pipe pages.

// errIdleTimeout ends a connection that moved no byte for its idle timeout.
var errIdleTimeout = errors.New("dataplane: idle timeout")

// spliceMax is the most a single splice call moves from a socket into a pipe; the
// pipe's capacity bounds it further.
const spliceMax = 1 << 20

// pump copies one direction of a session.
type pump struct {
	s        *session
	down     bool // target → client
	splicing bool // both sides are TCP: splice; else copy through a buffer
	srcConn  net.Conn
	dstConn  net.Conn // nil until the client → target direction commits
	src, dst syscall.RawConn
	count    [2]*atomic.Uint64
	any      bool // moved a byte

	// Splice loop state, used only by this direction's goroutine.
	readFn, writeFn func(fd uintptr) bool
	pipe            *pipe
	buffered        int  // bytes in pipe
	calls           int  // readFn calls in the current RawConn.Read
	eof             bool // source reached EOF
	err             error
	peek            [1]byte
}

// setSource makes the target conn the source of the target → client direction.
func (d *pump) setSource(t *net.TCPConn) {
	d.srcConn = t
	if d.splicing {
		d.src, _ = t.SyscallConn()
	}
}

// commit gives the client → target direction its destination before the first
// byte or FIN goes there.
func (d *pump) commit() {
	if d.dstConn != nil {
		return
	}
	t := d.s.commit()
	d.dstConn = t
	if d.splicing {
		d.dst, _ = t.SyscallConn()
	}
}

// run copies until the source ends, then half-closes the destination; on any
// other end it closes both sides. If the target resets the connection before
// anything moved, the target → client direction switches to another target.
func (d *pump) run() {
	defer d.s.p.wg.Done()
	s := d.s
	d.readFn, d.writeFn = d.onReadable, d.onWritable
	var err error
	for {
		if d.splicing {
			err = d.splice()
			if d.pipe != nil {
				putPipe(d.pipe, d.buffered)
				d.pipe, d.buffered = nil, 0
			}
		} else {
			err = d.copy()
		}
		if d.down && !d.any && errors.Is(err, syscall.ECONNRESET) && s.retarget() {
			d.err, d.eof = nil, false
			d.setSource(s.target.Load())
			continue
		}
		break
	}
	switch {
	case err == io.EOF:
		if !d.down {
			d.commit()
		}
		if cw, ok := d.dstConn.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
			s.close()
		}
	case errors.Is(err, syscall.ECONNRESET):
		// Pass the reset on, as the NLB does.
		var dst net.Conn = s.target.Load()
		if d.down {
			dst = d.dstConn
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		s.close()
	default:
		if err != errIdleTimeout && !errors.Is(err, net.ErrClosed) {
			s.p.log.Debug("relay ended", "target", s.ref.Load().label, "error", err)
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
		d.commit()
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
		// A socket error is reported once, so the peek's error is the result.
		if d.calls == 1 {
			n, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&d.peek[0])), 1,
				unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
			switch {
			case e == unix.EAGAIN:
				return false
			case e == unix.EINTR:
			case e != 0:
				d.err = e
				return true
			case n == 0:
				d.eof = true
				return true
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
			d.commit()
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
