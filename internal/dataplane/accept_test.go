package dataplane

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// addrPort converts a connection address.
func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// accepted is a connection accept handed over.
type accepted struct {
	fd            int
	client, local netip.AddrPort
}

// acceptAll runs l.accept, sending each connection to got and its result to done.
func acceptAll(l *ListenSocket) (<-chan accepted, <-chan error) {
	got := make(chan accepted, 16)
	done := make(chan error, 1)
	go func() {
		done <- l.accept(func(fd int, client, local netip.AddrPort, _ bool) { got <- accepted{fd, client, local} })
	}()
	return got, done
}

// Accepted sockets are non-blocking, close-on-exec, without Nagle delay, and
// carry the client's and the local address; closing the listener ends accept.
func TestListenSocketAccept(t *testing.T) {
	t.Parallel()
	l, err := Listen(netip.MustParseAddrPort("127.0.0.71:0"))
	if err != nil {
		t.Fatal(err)
	}
	got, done := acceptAll(l)
	c := dialFrom(t, "127.0.0.72", l.Addr())
	var a accepted
	select {
	case a = <-got:
	case <-time.After(waitLong):
		t.Fatal("no connection accepted")
	}
	defer unix.Close(a.fd)
	if a.client != addrPort(c.LocalAddr()) || a.local != l.Addr() || a.local != addrPort(c.RemoteAddr()) {
		t.Errorf("accepted %s → %s, want %s → %s", a.client, a.local, c.LocalAddr(), c.RemoteAddr())
	}
	if v, err := unix.GetsockoptInt(a.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err != nil || v == 0 {
		t.Errorf("TCP_NODELAY = %d, %v; want on", v, err)
	}
	fl, err := unix.FcntlInt(uintptr(a.fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("file status flags %#x, %v: want O_NONBLOCK", fl, err)
	}
	fdfl, err := unix.FcntlInt(uintptr(a.fd), unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x, %v: want FD_CLOEXEC", fdfl, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, errSocketClosed) {
			t.Errorf("accept returned %v, want errSocketClosed", err)
		}
	case <-time.After(waitLong):
		t.Fatal("accept still running after Close")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A listener bound to the unspecified address reports the address each
// connection came to.
func TestListenSocketWildcard(t *testing.T) {
	t.Parallel()
	l, err := Listen(netip.MustParseAddrPort("0.0.0.0:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, _ := acceptAll(l)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.73"), l.Addr().Port())
	c := dialFrom(t, "127.0.0.74", to)
	select {
	case a := <-got:
		unix.Close(a.fd)
		if a.local != to || a.client != addrPort(c.LocalAddr()) {
			t.Errorf("accepted %s → %s, want %s → %s", a.client, a.local, c.LocalAddr(), to)
		}
	case <-time.After(waitLong):
		t.Fatal("no connection accepted")
	}
}

// accept tells whether more connections were queued behind each one: the last
// of a burst is handed over with more false.
func TestListenSocketAcceptMore(t *testing.T) {
	t.Parallel()
	l, err := Listen(netip.MustParseAddrPort("127.0.0.75:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 3 { // queued before accept runs
		dialFrom(t, "127.0.0.76", l.Addr())
	}
	eventually(t, "3 connections in the accept queue", func() bool {
		var queued uint32
		l.raw.Control(func(fd uintptr) {
			// For a listening socket, tcpi_unacked is the accept queue's length.
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				queued = info.Unacked
			}
		})
		return queued == 3
	})
	mores := make(chan bool, 3)
	go l.accept(func(fd int, _, _ netip.AddrPort, more bool) {
		unix.Close(fd)
		mores <- more
	})
	var got []bool
	for range 3 {
		select {
		case m := <-mores:
			got = append(got, m)
		case <-time.After(waitLong):
			t.Fatalf("accepted %d of 3", len(got))
		}
	}
	if want := []bool{true, true, false}; !slices.Equal(got, want) {
		t.Errorf("more = %v, want %v", got, want)
	}
}

// An IPv6 listener reports the client's IPv6 address and port.
func TestListenSocketIPv6(t *testing.T) {
	t.Parallel()
	l, err := Listen(netip.MustParseAddrPort("[::1]:0"))
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	got, _ := acceptAll(l)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case a := <-got:
		unix.Close(a.fd)
		if a.client != addrPort(c.LocalAddr()) || a.local != l.Addr() {
			t.Errorf("accepted %s → %s, want %s → %s", a.client, a.local, c.LocalAddr(), l.Addr())
		}
	case <-time.After(waitLong):
		t.Fatal("no connection accepted")
	}
}

// Close stops listening at once: no descriptor of the socket is left, so a new
// connection is refused, and Serve returns nil (also when it starts later).
func TestListenSocketCloseRefuses(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	l, err := Listen(netip.MustParseAddrPort("127.0.0.75:0"))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.p.Serve(l, e) }()
	c := dialFrom(t, "127.0.0.1", l.Addr())
	if err := echoOnce(c, "x"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := net.Dial("tcp", l.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want connection refused", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Serve still running after Close")
	}
	if err := r.p.Serve(l, e); err != nil {
		t.Errorf("Serve on a closed socket returned %v, want nil", err)
	}
	if err := echoOnce(c, "y"); err != nil {
		t.Errorf("established connection after the listener closed: %v", err)
	}
}

// Closing a listener while connections arrive is safe: Serve returns, every
// connection it accepted is relayed, and the others are refused or reset.
func TestListenSocketCloseWhileAccepting(t *testing.T) {
	t.Parallel()
	r, _, e := echoRig(t, modeEcho)
	for range 5 {
		l, err := Listen(netip.MustParseAddrPort("127.0.0.76:0"))
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- r.p.Serve(l, e) }()
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 8 {
					l.Close()
				}
				c, err := net.DialTimeout("tcp", l.Addr().String(), waitLong)
				if err != nil {
					// Refused once closed; reset, or EPIPE from connect on loopback,
					// when the close lands during the handshake.
					if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
						t.Errorf("dial: %v", err)
					}
					return
				}
				defer c.Close()
				// Relayed (echoed), or reset by the listener's close.
				if err := echoOnce(c, "z"); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, io.EOF) {
					t.Errorf("echo: %v", err)
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve returned %v, want nil", err)
			}
		case <-time.After(waitLong):
			t.Fatal("Serve still running after Close")
		}
	}
}

// Running out of descriptors or memory is temporary (Serve backs off and
// retries); other accept errors end Serve.
func TestTemporaryAcceptErrors(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM} {
		if !temporary(os.NewSyscallError("accept4", errno)) {
			t.Errorf("%v not temporary", errno)
		}
	}
	for _, errno := range []syscall.Errno{unix.EBADF, unix.EINVAL, unix.ENOTSOCK} {
		if temporary(os.NewSyscallError("accept4", errno)) {
			t.Errorf("%v temporary", errno)
		}
	}
}

// dupFD returns a close-on-exec duplicate of c's descriptor (the test dialer
// hands out descriptors as the agent's does: the caller's own, not in Go's
// poller).
func dupFD(c *net.TCPConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, derr
}
