package dataplane

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls a relayed connection makes between its accept and its
// close never wait: its sockets are non-blocking, and epoll_ctl, shutdown and
// close of such a socket return at once. They are raw system calls, like
// splice and pollNow (relay.go, reactor.go). An ordinary one (syscall.Syscall)
// tells the scheduler it may block, and the first one after the process was
// idle wakes the runtime's monitor thread, which then polls every 20 µs for at
// least a millisecond: on a proxy that goes idle between connections, that
// was a fifth of its CPU time (perf, sequential connections/s).

// rawErr returns errno as an error (nil for 0).
func rawErr(errno syscall.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

// rawAccept4 accepts a connection on a non-blocking listening socket: the
// new socket (non-blocking, close-on-exec) and its peer's address.
func rawAccept4(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unsafe.Sizeof(rsa))
	fd, _, errno := syscall.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	return int(fd), rawAddrPort(&rsa), nil
}

// rawAddrPort converts an IPv4 or IPv6 socket address (the zero AddrPort for
// other families).
func rawAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), portOf(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), portOf(sa.Port))
	}
	return netip.AddrPort{}
}

// portOf converts a port in network byte order, as sockaddr holds it.
func portOf(p uint16) uint16 {
	var b [2]byte
	*(*uint16)(unsafe.Pointer(&b[0])) = p
	return binary.BigEndian.Uint16(b[:])
}

// rawEpollCtl is epoll_ctl(2).
func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return rawErr(errno)
}

// rawShutdown is shutdown(2).
func rawShutdown(fd, how int) error {
	_, _, errno := syscall.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return rawErr(errno)
}

// rawClose closes a non-blocking socket (one without a lingering close).
func rawClose(fd int) error {
	_, _, errno := syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return rawErr(errno)
}

// rawWrite is write(2) to a non-blocking socket.
func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawSendMore is send(2) with MSG_MORE: TCP holds the bytes back until more
// are written without the flag (in one segment with them), the socket is
// shut down or closed, rawPush, or about 200 ms have passed.
func rawSendMore(fd int, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_MORE, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawPush sends what a TCP socket holds back after rawSendMore: setting
// TCP_NODELAY (on already) pushes the pending segments.
func rawPush(fd int) error { return rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) }

// rawResetOnClose makes closing fd send a reset (SO_LINGER on with a zero
// timeout, so close does not wait either).
func rawResetOnClose(fd int) error {
	l := unix.Linger{Onoff: 1}
	_, _, errno := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	return rawErr(errno)
}

// rawRead is read(2) from a non-blocking socket.
func rawRead(fd int, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
