package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The data plane dials a target for every proxied connection, so Dial is on the
// hot path. Only the socket has to be created inside the namespace (a socket
// keeps its namespace for life): it comes from the namespace's spare sockets
// (host_spares.go), which a locked thread creates in batches; binding and
// connecting happen on the calling goroutine with raw system calls, and only a
// handshake still in flight is waited for in Go's poller. (Dialling with the
// thread inside the namespace kept that thread locked while the handshake was
// in flight: every wake-up had to hand the goroutine back to that one thread.)

// hostNamespace is this process's own network namespace, opened once; threads
// return to it after creating a socket elsewhere.
var hostNamespace = sync.OnceValues(func() (ns netns.NsHandle, err error) {
	// A fresh locked thread is in the host namespace: every thread that enters
	// another one is locked until it is back (inNamespace).
	err = onFreshThread(func() (err error) {
		ns, err = netns.Get()
		return err
	})
	return ns, err
})

// dialIn connects to `to` from a socket of the named namespace bound to from
// (when valid; its port is chosen at connect time) and returns the connected,
// non-blocking, close-on-exec descriptor, which the caller owns. ctx bounds
// the connection attempt.
func (h *Host) dialIn(ctx context.Context, name string, from netip.Addr, to netip.AddrPort) (int, error) {
	family := unix.AF_INET
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := h.spares.take(name, family)
	if err != nil {
		return -1, err
	}
	if err := connectFD(ctx, fd, family, from, to); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// connectFD binds fd to from (if valid) and connects it to `to`. Its system
// calls are raw (the dataplane's reasoning: they never wait on a non-blocking
// socket, and ordinary ones would wake the runtime's monitor thread after
// every idle period); only waiting for a handshake still in flight goes
// through Go's poller.
func connectFD(ctx context.Context, fd, family int, from netip.Addr, to netip.AddrPort) error {
	// No Nagle delay, as Go sets on every TCP connection.
	if err := rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if from.IsValid() {
		// Pick the source port at connect time, per destination, not at bind time:
		// otherwise every connection from a node reserves one of its ~28k ports.
		if err := rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		if err := rawSockaddrCall(unix.SYS_BIND, fd, netip.AddrPortFrom(from, 0), family); err != nil {
			return os.NewSyscallError("bind", err)
		}
	}
	err := rawSockaddrCall(unix.SYS_CONNECT, fd, to, family)
	if err == nil {
		return nil
	}
	if err != unix.EINPROGRESS && err != unix.EINTR {
		return os.NewSyscallError("connect", err)
	}
	// A target on this host has usually answered the handshake by now.
	if done, err := connected(fd, family, to); done {
		return err
	}
	return awaitConnect(ctx, fd, family, to)
}

// connected reports whether the handshake of fd's connection to `to` ended,
// and how, by asking to connect again (one system call): that returns 0 once
// it is established, EALREADY while in flight, and the error it failed with.
func connected(fd, family int, to netip.AddrPort) (bool, error) {
	switch err := rawSockaddrCall(unix.SYS_CONNECT, fd, to, family); err {
	case nil, unix.EISCONN:
		return true, nil
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		return false, nil
	default:
		return true, os.NewSyscallError("connect", err)
	}
}

// rawSetsockoptInt is setsockopt(2) with an int value, as a raw system call.
func rawSetsockoptInt(fd, level, opt, v int) error {
	x := int32(v)
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&x)), 4, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// rawSockaddrCall is bind(2) or connect(2) (trap) of fd with address ap, as a
// raw system call.
func rawSockaddrCall(trap uintptr, fd int, ap netip.AddrPort, family int) error {
	var ptr unsafe.Pointer
	var size uintptr
	port := ap.Port()
	if family == unix.AF_INET6 {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		ptr, size = unsafe.Pointer(&sa), unsafe.Sizeof(sa)
		defer runtime.KeepAlive(&sa)
	} else {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		ptr, size = unsafe.Pointer(&sa), unsafe.Sizeof(sa)
		defer runtime.KeepAlive(&sa)
	}
	_, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), size)
	if errno != 0 {
		return errno
	}
	return nil
}

// awaitConnect waits in Go's poller until the handshake of fd's connection to
// `to` ended or ctx ends. The poller holds a duplicate, so fd itself never
// joins it.
func awaitConnect(ctx context.Context, fd, family int, to netip.AddrPort) error {
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
	if d, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	err = raw.Write(func(uintptr) bool {
		var done bool
		done, cerr = connected(fd, family, to)
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
