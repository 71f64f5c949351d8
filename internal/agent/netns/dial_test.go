package netns_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/testenv"
)

// dialRig creates a host with one VPC, two ENI addresses (from, to) in its subnet
// and an echo listener on to:7000 (each connection echoes one byte); root only.
func dialRig(tb testing.TB) (h *netns.Host, v netns.VPC, from netip.Addr, to netip.AddrPort) {
	testenv.RequireRoot(tb)
	tag := make([]byte, 3)
	rand.Read(tag)
	testenv.RegisterDataplane(tb, hex.EncodeToString(tag))
	var err error
	h, err = netns.NewHost(hex.EncodeToString(tag), slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := netns.Down(h.Tag()); err != nil {
			tb.Errorf("Down: %v", err)
		}
	})
	v = netnstest.VPC("10.0.0.0/16", "10.0.1.0/24")
	from, to = netip.MustParseAddr("10.0.1.50"), netip.MustParseAddrPort("10.0.1.51:7000")
	echoVPC(tb, h, v, from, to)
	return h, v, from, to
}

// echoVPC creates VPC v on h with the ENI addresses from and to, and an echo
// listener on to (each connection echoes one byte).
func echoVPC(tb testing.TB, h *netns.Host, v netns.VPC, from netip.Addr, to netip.AddrPort) {
	if _, err := h.EnsureVPC(v); err != nil {
		tb.Fatal(err)
	}
	enis := []netns.ENI{{ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: from}, {ID: netnstest.RandomID("eni"), SubnetID: v.Subnets[0].ID, IP: to.Addr()}}
	if err := h.SetAddresses(v.ID, enis, v); err != nil {
		tb.Fatal(err)
	}
	ln, err := h.Listen(v.ID, to)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.CopyN(c, c, 1)
			}()
		}
	}()
}

// BenchmarkDialInNamespace measures what the data plane pays per connection to
// reach a target from a VPC namespace: Host.Dial (connect, 1-byte echo, close)
// against the same exchange from a goroutine whose thread stays in the
// namespace (the cost of the TCP exchange alone). Root only.
func BenchmarkDialInNamespace(b *testing.B) {
	h, v, from, to := dialRig(b)
	exchange := func(c net.Conn) error {
		defer c.Close()
		one := []byte{1}
		if _, err := c.Write(one); err != nil {
			return err
		}
		_, err := io.ReadFull(c, one)
		return err
	}
	b.Run("Host.Dial", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			c, err := h.Dial(ctx, v.ID, from, to)
			if err != nil {
				b.Fatal(err)
			}
			if err := exchange(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thread-in-namespace", func(b *testing.B) {
		err := h.Do(v.ID, func() error {
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), KeepAlive: -1}
			for b.Loop() {
				c, err := d.Dial("tcp", to.String())
				if err != nil {
					return err
				}
				if err := exchange(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}

// DialSocket returns a connected, non-blocking socket of the VPC namespace,
// bound to the source address, with TCP_NODELAY; a refused connection fails at
// once, an unanswered one when the context ends, as a timeout.
func TestDialSocket(t *testing.T) {
	h, v, from, to := dialRig(t)
	ctx := context.Background()
	fd, err := h.DialSocket(ctx, v.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK == 0 {
		t.Errorf("flags %#x, %v: want O_NONBLOCK", flags, err)
	}
	if v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err != nil || v == 0 {
		t.Errorf("TCP_NODELAY %d, %v: want on", v, err)
	}
	local, _ := unix.Getsockname(fd)
	if sa, ok := local.(*unix.SockaddrInet4); !ok || netip.AddrFrom4(sa.Addr) != from {
		t.Errorf("bound to %+v, want %s", local, from)
	}
	f := os.NewFile(uintptr(fd), "tcp")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{7}); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := io.ReadFull(conn, one); err != nil || one[0] != 7 {
		t.Fatalf("echo %v, %v", one, err)
	}
	conn.Close()

	if _, err := h.DialSocket(ctx, v.ID, from, netip.AddrPortFrom(to.Addr(), 7001)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to a closed port: %v, want connection refused", err)
	}
	// An address of the subnet that nobody holds: ARP goes unanswered.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = h.DialSocket(tctx, v.ID, from, netip.MustParseAddrPort("10.0.1.99:7000"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("dial to an absent address: %v, want a timeout", err)
	}
	if _, err := h.DialSocket(ctx, "vpc-00000000000000000", from, to); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("dial in a missing VPC: %v", err)
	}
}

// A VPC removed and created again under its ID is a new namespace: dials use
// sockets of the new one, not spare sockets made in the old one (which has no
// addresses left to bind to).
func TestDialSocketAfterVPCRecreated(t *testing.T) {
	h, v, from, to := dialRig(t)
	echo := func() error {
		c, err := h.Dial(context.Background(), v.ID, from, to)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte{7}); err != nil {
			return err
		}
		_, err = io.ReadFull(c, make([]byte, 1))
		return err
	}
	if err := echo(); err != nil { // leaves spare sockets of the first namespace
		t.Fatal(err)
	}
	if err := h.RemoveVPC(v.ID); err != nil {
		t.Fatal(err)
	}
	echoVPC(t, h, v, from, to)
	for i := range 40 { // more than one batch of spares
		if err := echo(); err != nil {
			t.Fatalf("dial %d after the VPC was created again: %v", i, err)
		}
	}
}

// Dials leave spare sockets of the namespace behind; CloseSpares closes them,
// and later dials make new ones.
func TestCloseSpares(t *testing.T) {
	h, v, from, to := dialRig(t)
	fd, err := h.DialSocket(context.Background(), v.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if n := unconnectedSocketsIn(t, h, v.ID); n != 15 {
		t.Fatalf("%d unconnected sockets of the VPC after a dial, want the batch's other 15", n)
	}
	h.CloseSpares()
	if n := unconnectedSocketsIn(t, h, v.ID); n != 0 {
		t.Errorf("CloseSpares left %d unconnected sockets of the VPC, want 0", n)
	}
	fd, err = h.DialSocket(context.Background(), v.ID, from, to)
	if err != nil {
		t.Fatalf("dial after CloseSpares: %v", err)
	}
	unix.Close(fd)
}

// soNetnsCookie is SO_NETNS_COOKIE (Linux 5.14): the network namespace of a
// socket.
const soNetnsCookie = 71

// unconnectedSocketsIn counts this process's TCP sockets inside the namespace
// of VPC id that are neither listening nor connected: the spare sockets
// (other tests' sockets are in other namespaces).
func unconnectedSocketsIn(t *testing.T, h *netns.Host, id string) int {
	t.Helper()
	cookie := func(fd int) (uint64, error) {
		var c uint64
		l := uint32(8)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, soNetnsCookie, uintptr(unsafe.Pointer(&c)), uintptr(unsafe.Pointer(&l)), 0)
		if errno != 0 {
			return 0, errno
		}
		return c, nil
	}
	var want uint64
	err := h.Do(id, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		want, err = cookie(fd)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c, err := cookie(fd); err != nil || c != want {
			continue // not a socket, or another namespace's
		}
		if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || acc != 0 {
			continue // listening
		}
		if _, err := unix.Getpeername(fd); err == unix.ENOTCONN {
			n++
		}
	}
	return n
}
