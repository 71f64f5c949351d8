// Package netnstest sets up namespaces of a netns.Host for tests and talks
// across them: hosts with a random tag whose namespaces are removed (and checked
// gone) when the test ends, VPCs, instances and listeners, and connections and
// pings that must get through or time out. Root only; tests use only addresses
// inside the namespaces they create.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"strait/internal/agent/netns"
	"strait/internal/testenv"
)

// NewHost returns a Host with a random tag whose namespaces are all removed (and
// checked gone with `ip netns list`) when the test ends.
func NewHost(t testing.TB) *netns.Host {
	t.Helper()
	testenv.RequireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	tag := hex.EncodeToString(b)
	testenv.RegisterDataplane(t, tag)
	h, err := netns.NewHost(tag, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down(t, tag) })
	return h
}

// down removes a tag's namespaces and checks that none is left.
func down(t testing.TB, tag string) {
	t.Helper()
	if _, err := netns.Down(tag); err != nil {
		t.Errorf("Down(%s): %v", tag, err)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Errorf("ip netns list: %v: %s", err, out)
	}
	if strings.Contains(string(out), "strait-"+tag+"-") {
		t.Errorf("namespaces left after Down(%s):\n%s", tag, out)
	}
	if entries, _ := os.ReadDir("/etc/netns"); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "strait-"+tag+"-") {
				t.Errorf("/etc/netns/%s left after Down", e.Name())
			}
		}
	}
}

// RandomID makes an AWS-style ID: prefix-17 hex digits.
func RandomID(prefix string) string {
	b := make([]byte, 9)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)[:17]
}

// VPC describes a VPC with one subnet per given CIDR, in zones a, b, c….
func VPC(cidr string, subnets ...string) netns.VPC {
	v := netns.VPC{ID: RandomID("vpc"), CIDR: netip.MustParsePrefix(cidr)}
	for i, s := range subnets {
		v.Subnets = append(v.Subnets, netns.Subnet{ID: RandomID("subnet"), CIDR: netip.MustParsePrefix(s), AZ: fmt.Sprintf("us-east-1%c", 'a'+i)})
	}
	return v
}

// EnsureVPC sets a VPC up, failing the test on error.
func EnsureVPC(t testing.TB, h *netns.Host, v netns.VPC) {
	t.Helper()
	if _, err := h.EnsureVPC(v); err != nil {
		t.Fatal(err)
	}
}

// Instance sets up an instance with ip in subnet index si of v.
func Instance(t testing.TB, h *netns.Host, v netns.VPC, si int, ip string) netns.Instance {
	t.Helper()
	i := netns.Instance{ID: RandomID("i"), VpcID: v.ID, SubnetID: v.Subnets[si].ID, IP: netip.MustParseAddr(ip)}
	if _, err := h.EnsureInstance(i, v); err != nil {
		t.Fatal(err)
	}
	return i
}

// serve accepts connections on ln until it closes and answers each with
// "<token> <client address>\n".
func serve(t testing.TB, ln net.Listener, token string) {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", token, c.RemoteAddr())
			c.Close()
		}
	}()
}

// Listen opens a listener in the namespace of id (a VPC or instance) and serves it.
func Listen(t testing.TB, h *netns.Host, id, addr, token string) {
	t.Helper()
	ln, err := h.Listen(id, netip.MustParseAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, token)
}

// Ask connects from the namespace of id (bound to from, when set) to addr within
// timeout and returns the server's answer.
func Ask(h *netns.Host, id, from, addr string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var src netip.Addr
	if from != "" {
		src = netip.MustParseAddr(from)
	}
	c, err := h.Dial(ctx, id, src, netip.MustParseAddrPort(addr))
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// MustAsk is Ask that fails the test on error and checks the answer (a trailing
// * in want matches anything).
func MustAsk(t testing.TB, h *netns.Host, id, from, addr, want string) {
	t.Helper()
	got, err := Ask(h, id, from, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("from %s (%s) to %s: %v", id, from, addr, err)
	}
	if got != want && !(strings.HasSuffix(want, "*") && strings.HasPrefix(got, strings.TrimSuffix(want, "*"))) {
		t.Fatalf("from %s (%s) to %s: got %q, want %q", id, from, addr, got, want)
	}
}

// MustTimeOut checks that a connection from id to addr times out (is dropped, not
// refused).
func MustTimeOut(t testing.TB, h *netns.Host, id, addr string) {
	t.Helper()
	_, err := Ask(h, id, "", addr, time.Second)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("from %s to %s: got %v, want a timeout", id, addr, err)
	}
}

// Ping sends an ICMP echo request from the namespace of id to dst and waits up to
// timeout for the reply.
func Ping(h *netns.Host, id string, dst netip.Addr, timeout time.Duration) error {
	var c net.PacketConn
	err := h.Do(id, func() (err error) {
		c, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	ident := uint16(os.Getpid())
	msg := []byte{8, 0, 0, 0, byte(ident >> 8), byte(ident), 0, 1, 's', 't', 'r', 'a', 'i', 't'}
	binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if n >= 8 && buf[0] == 0 && binary.BigEndian.Uint16(buf[4:]) == ident && from.String() == dst.String() {
			return nil
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// Run runs a command and returns its trimmed output, failing the test on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// StartIn starts a program in a namespace with `ip netns exec`, waits until it runs
// there, and returns a channel that receives its exit. The program is killed when
// the test ends.
func StartIn(t testing.TB, ns string, argv ...string) <-chan error {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		var st syscall.Stat_t
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid), &st) == nil && st.Ino == want.Ino &&
			strings.TrimSpace(string(comm)) == filepath.Base(argv[0]) {
			return exited
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not start in %s", argv, ns)
		}
	}
}
