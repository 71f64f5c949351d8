package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The data plane dials a target for every proxied connection, so Dial is on the
// hot path. Only the socket has to be created inside the namespace (a socket
// keeps its namespace for life): a locked thread enters the namespace, calls
// socket(2) and returns at once, and binding, connecting and waiting for the
// handshake happen on an ordinary goroutine in Go's poller. (Dialling with the
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

// socketIn creates a non-blocking, close-on-exec TCP socket of family inside
// the named namespace.
func socketIn(name string, family int) (int, error) {
	host, err := hostNamespace()
	if err != nil {
		return -1, fmt.Errorf("opening the host namespace: %w", err)
	}
	ns, err := openNamespace(name)
	if err != nil {
		return -1, err
	}
	defer ns.Close()
	fd := -1
	err = onFreshThread(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("entering namespace %s: %w", name, err)
		}
		var serr error
		fd, serr = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err := netns.Set(host); err != nil {
			if serr == nil {
				unix.Close(fd)
				fd = -1
			}
			return errThreadTainted{err}
		}
		return serr
	})
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// sockaddr converts an address for bind(2) and connect(2).
func sockaddr(ap netip.AddrPort, family int) unix.Sockaddr {
	if family == unix.AF_INET6 {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
}

// dialIn connects to `to` from a socket of the named namespace bound to from
// (when valid; its port is chosen at connect time) and returns the connected,
// non-blocking, close-on-exec descriptor, which the caller owns. ctx bounds
// the connection attempt.
func dialIn(ctx context.Context, name string, from netip.Addr, to netip.AddrPort) (int, error) {
	family := unix.AF_INET
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := socketIn(name, family)
	if err != nil {
		return -1, err
	}
	if err := connectFD(ctx, fd, family, from, to); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// connectFD binds fd to from (if valid) and connects it to `to`.
func connectFD(ctx context.Context, fd, family int, from netip.Addr, to netip.AddrPort) error {
	// No Nagle delay, as Go sets on every TCP connection.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if from.IsValid() {
		// Pick the source port at connect time, per destination, not at bind time:
		// otherwise every connection from a node reserves one of its ~28k ports.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(from, 0), family)); err != nil {
			return os.NewSyscallError("bind", err)
		}
	}
	err := unix.Connect(fd, sockaddr(to, family))
	if err == nil {
		return nil
	}
	if err != unix.EINPROGRESS && err != unix.EINTR {
		return os.NewSyscallError("connect", err)
	}
	// A target on this host has usually answered the handshake by now.
	if done, err := connected(fd); done {
		return err
	}
	return awaitConnect(ctx, fd)
}

// connected reports whether the handshake on fd ended, and how.
func connected(fd int) (bool, error) {
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

// awaitConnect waits in Go's poller until the handshake on fd ended or ctx
// ends. The poller holds a duplicate, so fd itself never joins it.
func awaitConnect(ctx context.Context, fd int) error {
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
		done, cerr = connected(fd)
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
