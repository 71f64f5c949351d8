package dataplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A connection to a target is dialled in two steps, so that the goroutine
// accepting client connections never waits for a handshake: StartConnect
// binds and connects a non-blocking socket and reports whether the handshake
// is over already (a target on the same host has usually answered by the time
// connect returns); only if not does someone wait for it, with AwaitConnect.
// The system calls of StartConnect are raw (see rawsys.go).

// StartConnect sets TCP_NODELAY on the non-blocking TCP socket fd, binds it to
// from (when valid; the port is picked at connect time) and connects it to
// `to`. done reports whether the connection is established; if it is still
// being set up, wait for it with AwaitConnect. An error means the connection
// failed (the caller still owns fd and closes it).
func StartConnect(fd int, from netip.Addr, to netip.AddrPort) (done bool, err error) {
	family := unix.AF_INET
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	// No Nagle delay, as Go sets on every TCP connection.
	if err := rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return false, os.NewSyscallError("setsockopt", err)
	}
	if from.IsValid() {
		// Pick the source port at connect time, per destination, not at bind time:
		// otherwise every connection from a node reserves one of its ~28k ports.
		if err := rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return false, os.NewSyscallError("setsockopt", err)
		}
		if err := rawSockaddrCall(unix.SYS_BIND, fd, netip.AddrPortFrom(from, 0), family); err != nil {
			return false, os.NewSyscallError("bind", err)
		}
	}
	err = rawSockaddrCall(unix.SYS_CONNECT, fd, to, family)
	if err == nil {
		return true, nil
	}
	if err != unix.EINPROGRESS && err != unix.EINTR {
		return false, os.NewSyscallError("connect", err)
	}
	// Connecting again is one system call that tells how the handshake
	// stands: 0 once established, EALREADY while in flight, else its error.
	switch err := rawSockaddrCall(unix.SYS_CONNECT, fd, to, family); err {
	case nil, unix.EISCONN:
		return true, nil
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		return false, nil
	default:
		return false, os.NewSyscallError("connect", err)
	}
}

// DialWait dials with d and waits for the handshake if it is still in flight
// (AwaitConnect, bounded by ctx): it returns a connected socket, which the
// caller owns, for those who may wait (health checks, Host.DialSocket).
func DialWait(ctx context.Context, d Dialer, vpcID string, from netip.Addr, to netip.AddrPort) (int, error) {
	fd, done, err := d(vpcID, from, to)
	if err != nil || done {
		return fd, err
	}
	if err := AwaitConnect(ctx, fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// AwaitConnect waits in Go's poller until the handshake on fd (started by
// StartConnect) ended, and returns its error, or until ctx ends. The poller
// holds a duplicate, so fd itself never joins it.
func AwaitConnect(ctx context.Context, fd int) error {
	var cerr error
	err := awaitFD(ctx, fd, true, func() bool {
		var done bool
		done, cerr = handshakeOver(fd)
		return done
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("connect: %w", os.ErrDeadlineExceeded)
		}
		return err
	}
	return cerr
}

// awaitFD waits in Go's poller, on a duplicate of fd (so fd itself never
// joins it), until fd is writable (write) or readable and ready says it is
// done, or until ctx ends (os.ErrDeadlineExceeded).
func awaitFD(ctx context.Context, fd int, write bool, ready func() bool) error {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(dup), "tcp") // non-blocking: it joins the poller
	defer f.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	deadline := f.SetReadDeadline
	if write {
		deadline = f.SetWriteDeadline
	}
	if d, ok := ctx.Deadline(); ok {
		deadline(d)
	}
	stop := context.AfterFunc(ctx, func() { deadline(time.Unix(1, 0)) })
	defer stop()
	wait := raw.Read
	if write {
		wait = raw.Write
	}
	return wait(func(uintptr) bool { return ready() })
}

// handshakeOver reports whether the handshake on fd ended, and how.
func handshakeOver(fd int) (bool, error) {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	switch e := unix.Errno(soerr); e {
	case 0:
		// No error yet and no peer: still in progress (or a spurious wake-up).
		_, err := unix.Getpeername(fd)
		return err == nil, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return false, nil
	default:
		return true, os.NewSyscallError("connect", e)
	}
}

// rawSetsockoptInt is setsockopt(2) with an int value.
func rawSetsockoptInt(fd, level, opt, v int) error {
	x := int32(v)
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&x)), 4, 0)
	return rawErr(errno)
}

// rawSockaddrCall is bind(2) or connect(2) (trap) of fd with address ap.
func rawSockaddrCall(trap uintptr, fd int, ap netip.AddrPort, family int) error {
	var ptr unsafe.Pointer
	var size uintptr
	if family == unix.AF_INET6 {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
		ptr, size = unsafe.Pointer(&sa), unsafe.Sizeof(sa)
		defer runtime.KeepAlive(&sa)
	} else {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
		ptr, size = unsafe.Pointer(&sa), unsafe.Sizeof(sa)
		defer runtime.KeepAlive(&sa)
	}
	_, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), size)
	return rawErr(errno)
}
