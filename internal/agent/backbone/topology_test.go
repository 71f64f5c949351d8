package backbone_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/testenv"
)

// datacenter is a test's underlay: a bridge in namespace dc and two host
// namespaces, each with an "eth0" on it holding its underlay address.
type datacenter struct {
	dc    string
	hosts [2]string
	addrs [2]netip.Addr
}

// newDatacenter builds the underlay and removes it (checked gone) when the
// test ends.
func newDatacenter(t *testing.T) *datacenter {
	t.Helper()
	testenv.RequireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	p := "bbt" + hex.EncodeToString(b) + "-"
	d := &datacenter{dc: p + "dc", hosts: [2]string{p + "h1", p + "h2"},
		addrs: [2]netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}}
	t.Cleanup(func() {
		for _, ns := range append([]string{d.dc}, d.hosts[:]...) {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		out, _ := exec.Command("ip", "netns", "list").CombinedOutput()
		if strings.Contains(string(out), p) {
			t.Errorf("namespaces left:\n%s", out)
		}
	})
	run := func(args ...string) { netnstest.Run(t, "ip", args...) }
	run("netns", "add", d.dc)
	run("-n", d.dc, "link", "set", "lo", "up")
	run("-n", d.dc, "link", "add", "br0", "type", "bridge")
	run("-n", d.dc, "link", "set", "br0", "up")
	for i, h := range d.hosts {
		port := fmt.Sprintf("p%d", i+1)
		run("netns", "add", h)
		run("-n", h, "link", "set", "lo", "up")
		run("-n", h, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", d.dc)
		run("-n", h, "addr", "add", d.addrs[i].String()+"/24", "dev", "eth0")
		run("-n", h, "link", "set", "eth0", "up")
		run("-n", d.dc, "link", "set", port, "master", "br0", "up")
	}
	return d
}

// capture records what crosses a port of the datacenter bridge (host 1's).
type capture struct {
	fd      int
	mu      sync.Mutex
	frames  int
	udp     map[uint16]int // destination port → frames
	matched int            // frames holding the marker
	marker  []byte
	flushed map[string]bool // flush tokens seen
	done    chan struct{}
}

// startCapture opens an AF_PACKET socket on host 1's bridge port, counting
// frames by UDP destination port and those that hold marker, until the test ends.
func (d *datacenter) startCapture(t *testing.T, marker string) *capture {
	t.Helper()
	ns, err := backbone.OpenNS(d.dc)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	c := &capture{udp: map[uint16]int{}, marker: []byte(marker), flushed: map[string]bool{}, done: make(chan struct{})}
	proto := uint16(unix.ETH_P_ALL)<<8 | uint16(unix.ETH_P_ALL)>>8 // network order
	err = backbone.RunIn(ns, func() error {
		l, err := netlink.LinkByName("p1")
		if err != nil {
			return err
		}
		c.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return err
		}
		return unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: l.Attrs().Index})
	})
	if err != nil {
		t.Fatal(err)
	}
	go c.read()
	t.Cleanup(func() {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
		unix.Close(c.fd)
		<-c.done
	})
	return c
}

func (c *capture) read() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil || n == 0 {
			return
		}
		f := buf[:n]
		c.mu.Lock()
		c.frames++
		if bytes.Contains(f, c.marker) {
			c.matched++
		}
		if i := bytes.Index(f, []byte(flushPrefix)); i >= 0 && len(f) >= i+len(flushPrefix)+8 {
			c.flushed[string(f[i:i+len(flushPrefix)+8])] = true
		}
		if len(f) >= 14+20+8 && binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IP && f[14+9] == unix.IPPROTO_UDP {
			ihl := int(f[14]&0x0f) * 4
			if len(f) >= 14+ihl+4 {
				c.udp[binary.BigEndian.Uint16(f[14+ihl+2:])]++
			}
		}
		c.mu.Unlock()
	}
}

// flushPrefix starts the payload of the packets flush sends.
const flushPrefix = "strait-flush-"

// flush sends a packet from host 1 to host 2 across the underlay and waits
// until the capture has read it, so that it has read everything before it.
func (c *capture) flush(t *testing.T, d *datacenter) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	token := flushPrefix + hex.EncodeToString(b)
	ns, err := backbone.OpenNS(d.hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := backbone.RunIn(ns, func() error {
			conn, err := net.Dial("udp4", netip.AddrPortFrom(d.addrs[1], 9).String())
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Write([]byte(token))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		seen := c.flushed[token]
		c.mu.Unlock()
		if seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the capture never saw the flush packet")
		}
		time.Sleep(50 * time.Millisecond) // then send it again (ARP may have dropped it)
	}
}

// counts returns frames with the marker and frames to a UDP port so far.
func (c *capture) counts(port uint16) (matched, toPort int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.matched, c.udp[port]
}

// hostSide is one host of a test: its data plane namespaces and backbone.
type hostSide struct {
	id string
	nh *netns.Host
	bb *backbone.Backbone
}

// newBackbone starts host i's backbone in mode and, when the test ends, takes
// it down and checks that nothing of it is left in the host namespace.
func (d *datacenter) newBackbone(t *testing.T, i int, tag string, mode string, priv backbone.Key) *backbone.Backbone {
	t.Helper()
	bb, err := backbone.New(backbone.Config{Tag: tag, HostID: fmt.Sprintf("host-%d", i+1), Namespace: d.hosts[i], Underlay: d.addrs[i], Mode: mode, PrivateKey: priv,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

// linksIn lists the link names of a namespace.
func linksIn(t *testing.T, name string) []string {
	t.Helper()
	var names []string
	err := backbone.WithLinks(name, func(_ vnetns.NsHandle, nh *netlink.Handle) error {
		ls, err := nh.LinkList()
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
