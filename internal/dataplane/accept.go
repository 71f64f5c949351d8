package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Client connections are accepted straight into raw descriptors: accept4 on
// the listening socket returns a non-blocking, close-on-exec socket that the
// session relays as it is. A connection costs one system call on the accept
// side (Go's Accept also registered the socket in its poller, asked for the
// local address and set TCP_NODELAY, and the relay then duplicated the
// descriptor out of the poller and closed the original). Accepted sockets
// inherit TCP_NODELAY from the listening socket, and the local address is the
// one the listener is bound to.
//
// Only the listening socket sits in Go's poller (once, as an *os.File): Serve
// parks there like any network goroutine, with no thread blocked, and drains
// the accept queue when it becomes readable.

// listenBacklog is the accept queue length asked for; the kernel caps it at
// the net.core.somaxconn of the socket's network namespace (4096 by default),
// as it caps Go's listeners, which ask for the process's somaxconn.
const listenBacklog = 1<<16 - 1

// ListenSocket is a listening TCP socket for Proxy.Serve. Close stops listening
// at once: the ListenSocket holds the only descriptor of the socket.
type ListenSocket struct {
	file   *os.File        // the socket, in Go's poller
	raw    syscall.RawConn // file's: accepting runs in its Read callback
	addr   netip.AddrPort  // the bound address
	closed atomic.Bool
}

// Listen opens a ListenSocket on addr in the calling thread's network namespace
// (an IPv4 socket for IPv4 addresses, IPv6-only for IPv6 ones), with
// SO_REUSEADDR and TCP_NODELAY as Go's listeners and connections have them.
// Its errors are the failed system call's; they do not name addr.
func Listen(addr netip.AddrPort) (*ListenSocket, error) { return ListenDevice(addr, "") }

// ListenDevice is Listen with the socket bound to network device device
// (SO_BINDTODEVICE; "" for none): the kernel hands it only connections that
// arrived on that device, so no other interface's sender reaches it whatever
// address it claims. Its accept queue takes only connections whose first
// bytes have arrived (TCP_DEFER_ACCEPT), such as a PROXY v2 header.
func ListenDevice(addr netip.AddrPort, device string) (*ListenSocket, error) {
	family := unix.AF_INET
	if addr.Addr().Is6() && !addr.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if device != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt SO_BINDTODEVICE", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt TCP_DEFER_ACCEPT", err)
		}
	}
	if err := listenOn(fd, family, addr); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return newListenSocket(fd)
}

// listenOn sets a new socket's options, binds it to addr and listens.
func listenOn(fd, family int, addr netip.AddrPort) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	// Inherited by every accepted socket: no Nagle delay on the client side.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16(), ZoneId: zoneID(addr.Addr())}
	} else {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// zoneID returns the interface index of an IPv6 address's zone (0 for none
// or an unknown interface).
func zoneID(a netip.Addr) uint32 {
	if a.Zone() == "" {
		return 0
	}
	if idx, err := strconv.ParseUint(a.Zone(), 10, 32); err == nil {
		return uint32(idx)
	}
	if ifi, err := net.InterfaceByName(a.Zone()); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// newListenSocket takes over fd, a non-blocking listening TCP socket, and
// returns it as a ListenSocket, which closes fd on error.
func newListenSocket(fd int) (*ListenSocket, error) {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	f := os.NewFile(uintptr(fd), "tcp-listener") // non-blocking: it joins the poller
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &ListenSocket{file: f, raw: raw, addr: sockaddrAddrPort(sa)}, nil
}

// Addr returns the address the ListenSocket is bound to.
func (l *ListenSocket) Addr() netip.AddrPort { return l.addr }

// Close stops listening: connections still in the accept queue are reset. It
// returns once the socket is closed; an accept batch in progress ends first.
// Closing again does nothing.
func (l *ListenSocket) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.file.Close()
}

// errSocketClosed ends accept on a closed ListenSocket.
var errSocketClosed = errors.New("dataplane: listener closed")

// accept hands every connection to handle, with its client's and its local
// address, as they arrive, parking in Go's poller while none is queued; more
// tells handle that another connection was queued behind this one (handle
// may then pass it to another goroutine, to be back sooner). It returns
// errSocketClosed once l is closed, or the first accept error (Serve retries
// temporary ones).
func (l *ListenSocket) accept(handle func(fd int, client, local netip.AddrPort, more bool)) error {
	wildcard := l.addr.Addr().IsUnspecified()
	var aerr error
	held := false // a connection accepted and not handed over yet: fd, client, local
	var fd int
	var client, local netip.AddrPort
	flush := func(more bool) {
		if held {
			held = false
			handle(fd, client, local, more)
		}
	}
	err := l.raw.Read(func(s uintptr) bool {
		for {
			nfd, nclient, err := rawAccept4(int(s))
			switch err {
			case nil:
			case syscall.EAGAIN:
				flush(false)
				return false // queue drained: wait for readability
			case syscall.EINTR, syscall.ECONNABORTED:
				continue // a signal; a connection reset while queued
			default:
				flush(false)
				aerr = os.NewSyscallError("accept4", err)
				return true
			}
			flush(true)
			fd, client, local, held = nfd, nclient, l.addr, true
			if wildcard {
				if lsa, err := syscall.Getsockname(fd); err == nil {
					local = sockaddrAddrPort(lsa)
				}
			}
		}
	})
	switch {
	case l.closed.Load():
		return errSocketClosed
	case err != nil:
		return err
	}
	return aerr // the callback stopped on it
}

// sockaddrAddrPort converts a socket address (the zero AddrPort if it is not
// an IP one).
func sockaddrAddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
