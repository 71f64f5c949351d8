package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
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
// (when valid; its port is chosen at connect time) and returns the connection.
// ctx bounds the connection attempt.
func dialIn(ctx context.Context, name string, from netip.Addr, to netip.AddrPort) (*net.TCPConn, error) {
	family := unix.AF_INET
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := socketIn(name, family)
	if err != nil {
		return nil, err
	}
	if from.IsValid() {
		// Pick the source port at connect time, per destination, not at bind time:
		// otherwise every connection from a node reserves one of its ~28k ports.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(from, 0), family)); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("bind", err)
		}
	}
	if err := unix.Connect(fd, sockaddr(to, family)); err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// The file takes the descriptor: it is non-blocking, so it joins the poller.
	f := os.NewFile(uintptr(fd), "tcp")
	defer f.Close()
	if err := awaitConnect(ctx, f); err != nil {
		return nil, err
	}
	c, err := net.FileConn(f) // a duplicate; f's descriptor is closed on return
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// awaitConnect waits until the connection on f is established or failed, or
// ctx ends.
func awaitConnect(ctx context.Context, f *os.File) error {
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
	err = raw.Write(func(fd uintptr) bool {
		// Writable means the handshake ended; SO_ERROR says how. Until then (or on
		// a spurious wake-up) the socket has no peer yet: wait again.
		soerr, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := unix.Errno(soerr); e {
		case 0:
			_, err := unix.Getpeername(int(fd))
			return err == nil
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		default:
			cerr = os.NewSyscallError("connect", e)
			return true
		}
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
