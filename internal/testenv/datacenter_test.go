package testenv

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenUDPIn opens a UDP socket bound to addr inside a machine.
func listenUDPIn(t *testing.T, m *Machine, addr netip.AddrPort) net.PacketConn {
	t.Helper()
	fd, err := socketIn(m.Netns, func() (int, error) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		a := addr.Addr().As4()
		return fd, unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a})
	})
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "udp")
	defer f.Close()
	c, err := net.FilePacketConn(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestDatacenter builds a datacenter with two machines: a datagram from one
// machine's underlay address reaches the other's and the capture on the
// underlay sees its payload; the test process reaches a machine through its
// root link; when the test ends the namespaces and the root link are gone.
func TestDatacenter(t *testing.T) {
	var dc *Datacenter
	var m1, m2 *Machine
	t.Run("build", func(t *testing.T) {
		dc = NewDatacenter(t)
		m1, m2 = dc.Machine(t, "h1"), dc.Machine(t, "h2")
		capture := dc.Capture(t)

		// m1 → m2 over the underlay, seen by the capture.
		marker := []byte("underlay-marker-" + dc.Netns)
		dst := netip.AddrPortFrom(m2.Addr, 4789)
		in := listenUDPIn(t, m2, dst)
		out := listenUDPIn(t, m1, netip.AddrPortFrom(m1.Addr, 0))
		if _, err := out.WriteTo(marker, net.UDPAddrFromAddrPort(dst)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		n, _, err := in.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], marker) {
			t.Fatalf("datagram on m2: %q, %v", buf[:n], err)
		}
		Eventually(t, 10*time.Second, "the capture to see the datagram", func() error {
			if !capture.Contains(marker) {
				return os.ErrNotExist
			}
			return nil
		})
		capture.Stop()

		// The test process reaches m1 through its root link.
		root := m1.LinkRoot(t)
		rin := listenUDPIn(t, m1, netip.AddrPortFrom(root, 4000))
		c, err := net.Dial("udp4", netip.AddrPortFrom(root, 4000).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(marker); err != nil {
			t.Fatal(err)
		}
		if n, _, err := rin.ReadFrom(buf); err != nil || !bytes.Equal(buf[:n], marker) {
			t.Fatalf("datagram from the root namespace: %q, %v", buf[:n], err)
		}
		if out, err := m1.Command("ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput(); err != nil || !strings.Contains(string(out), m1.Addr.String()+"/24") {
			t.Fatalf("Machine.Command: %v\n%s", err, out)
		}
	})
	if dc == nil {
		return
	}
	for _, name := range []string{dc.Netns, m1.Netns, m2.Netns} {
		if _, err := os.Stat(nsRunPath(name)); err == nil {
			t.Errorf("namespace %s left behind", name)
		}
	}
	if _, err := net.InterfaceByName(strings.ReplaceAll(m1.Netns, "-", "")); err == nil {
		t.Errorf("root link of %s left behind", m1.Netns)
	}
}
