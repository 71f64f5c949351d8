package backbone_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns/netnstest"
	"strait/internal/testenv"
)

// What SetPeers configures, read back from the device with wgctrl (the
// kernel's device through generic netlink in the endpoint namespace,
// wireguard-go's through its configuration socket): the host's private key
// and listen port, and exactly the peers given, each with its preshared key,
// its underlay address and the port as endpoint, and its inner address as the
// one allowed IP. A peer left out is removed, a changed one is updated, none
// leaves none. wireguard-go's configuration socket is root's only, a stale
// one (from a crash) does not stop a new start, and Close removes it.
func TestWireGuardConfiguration(t *testing.T) {
	d := newDatacenter(t)
	tag := netnstest.NewHost(t).Tag()
	name := backbone.DeviceName(tag)
	method, err := backbone.MethodFor(backbone.ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	sock := backbone.UAPIPath(name)
	if method == backbone.MethodUserspace {
		staleSocket(t, sock)
	}
	priv := newKey(t)
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	const port = 51999
	bb, err := backbone.New(backbone.Config{Tag: tag, HostID: "host-1", Namespace: d.hosts[0], Underlay: d.addrs[0], Mode: backbone.ModeAuto, PrivateKey: priv, ListenPort: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bb.Down() })
	if bb.Method() != method {
		t.Fatalf("method %s, MethodFor says %s", bb.Method(), method)
	}
	if method == backbone.MethodUserspace {
		fi, err := os.Stat(sock)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s: mode %v, owner %d; want a socket, 0700, root's", sock, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
		}
		// A second wireguard-go of the name stops at the live socket,
		// before it touches the first one's device.
		second, err := backbone.New(backbone.Config{Tag: tag, HostID: "host-2", Namespace: d.hosts[1], Underlay: d.addrs[1], Mode: backbone.ModeUserspace, PrivateKey: newKey(t), ListenPort: port})
		if err == nil {
			second.Close()
			t.Fatal("a second wireguard-go of the same device started")
		}
		if !strings.Contains(err.Error(), "in use") {
			t.Errorf("the second wireguard-go: %v; want the socket in use", err)
		}
		if links := linksIn(t, backbone.EndpointNSName(tag)); !slices.Contains(links, name) {
			t.Errorf("the second wireguard-go removed the first one's device: %v", links)
		}
	}

	peer := func(id, underlay string) backbone.Peer {
		pub, err := newKey(t).PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		return backbone.Peer{HostID: id, Underlay: netip.MustParseAddr(underlay), Keys: backbone.Keys{Public: pub, Preshared: newKey(t)}}
	}
	a, b, c := peer("host-a", "192.0.2.10"), peer("host-b", "192.0.2.11"), peer("host-c", "192.0.2.12")
	check := func(want ...backbone.Peer) {
		t.Helper()
		if err := bb.SetPeers(want); err != nil {
			t.Fatal(err)
		}
		dev := readDevice(t, tag)
		// The device clamps the private key (as X25519 does): its public
		// key is the host's.
		if dev.PublicKey != wgtypes.Key(pub) || dev.ListenPort != port {
			t.Errorf("device: public key %s, port %d; want the host's %s and %d", dev.PublicKey, dev.ListenPort, pub, port)
		}
		// Read back, the device is as wanted: SetPeers again would change
		// nothing (and keep every session).
		if n := backbone.PeerChanges(dev.Peers, want, port); n != 0 {
			t.Errorf("read back, %d peers still differ from what SetPeers gave", n)
		}
		got := map[wgtypes.Key]wgtypes.Peer{}
		for _, p := range dev.Peers {
			got[p.PublicKey] = p
		}
		if len(got) != len(want) {
			t.Errorf("%d peers, want %d", len(got), len(want))
		}
		for _, w := range want {
			p, ok := got[wgtypes.Key(w.Keys.Public)]
			if !ok {
				t.Errorf("peer %s missing", w.HostID)
				continue
			}
			ep := p.Endpoint.AddrPort()
			wantAllowed := backbone.InnerAddr(w.Underlay).String() + "/128"
			if p.PresharedKey != wgtypes.Key(w.Keys.Preshared) || ep.Addr().Unmap() != w.Underlay || ep.Port() != port ||
				len(p.AllowedIPs) != 1 || p.AllowedIPs[0].String() != wantAllowed {
				t.Errorf("peer %s: preshared key right %v, endpoint %s, allowed %d IPs (first %s); want %s:%d, [%s]",
					w.HostID, p.PresharedKey == wgtypes.Key(w.Keys.Preshared), ep, len(p.AllowedIPs), firstIP(p.AllowedIPs), w.Underlay, port, wantAllowed)
			}
		}
	}
	check(a, b)
	b.Keys.Preshared, b.Underlay = newKey(t), netip.MustParseAddr("192.0.2.21")
	check(a, b, c) // b changed, c added
	check(c)       // a and b removed
	check()

	if method == backbone.MethodUserspace {
		// strait down leaves a live wireguard-go's socket alone.
		if removed, err := backbone.RemoveStaleSockets(tag); err != nil || len(removed) != 0 {
			t.Errorf("RemoveStaleSockets with wireguard-go running: removed %v, %v", removed, err)
		}
		readDevice(t, tag)
	}
	if err := bb.Close(); err != nil {
		t.Fatal(err)
	}
	if method == backbone.MethodUserspace {
		if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Close left %s (%v)", sock, err)
		}
	}
}

// strait down removes the socket a killed wireguard-go left (one nobody
// answers on).
func TestRemoveStaleSockets(t *testing.T) {
	testenv.RequireRoot(t)
	b := make([]byte, 4)
	rand.Read(b)
	tag := "st" + hex.EncodeToString(b)
	sock := backbone.UAPIPath(backbone.DeviceName(tag))
	staleSocket(t, sock)
	removed, err := backbone.RemoveStaleSockets(tag)
	if err != nil || len(removed) != 1 || removed[0] != sock {
		t.Fatalf("RemoveStaleSockets: %v, %v; want [%s]", removed, err, sock)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there (%v)", sock, err)
	}
}

// The kernel's device replaces a device of its name of another kind (here a
// bridge). Where the kernel has WireGuard the result is a WireGuard device;
// elsewhere its creation fails and says how to use wireguard-go instead. (The
// rest of the kernel's device, its configuration aside, cannot run here.)
func TestKernelDeviceReplacesAnotherKind(t *testing.T) {
	d := newDatacenter(t)
	tag := netnstest.NewHost(t).Tag()
	name := backbone.DeviceName(tag)
	endpoint, err := backbone.EnsureEndpointNS(tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		endpoint.Close()
		backbone.RemoveEndpointNS(tag)
	})
	host, err := backbone.OpenNS(d.hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	netnstest.Run(t, "ip", "-n", backbone.EndpointNSName(tag), "link", "add", name, "type", "bridge")
	err = backbone.EnsureKernelDevice(host, endpoint, name, 1420)
	links := linksIn(t, backbone.EndpointNSName(tag))
	switch {
	case backbone.KernelWireGuard():
		if err != nil {
			t.Fatal(err)
		}
		out := netnstest.Run(t, "ip", "-n", backbone.EndpointNSName(tag), "-d", "link", "show", name)
		if !strings.Contains(out, "wireguard") {
			t.Errorf("%s is not a WireGuard device:\n%s", name, out)
		}
	case err == nil || !strings.Contains(err.Error(), "--backbone "+backbone.ModeUserspace):
		t.Errorf("without the kernel's WireGuard: %v; want an error that names --backbone %s", err, backbone.ModeUserspace)
	case slices.Contains(links, name):
		t.Errorf("the bridge %s is still there: %v", name, links)
	}
}

// staleSocket leaves a socket at path that nobody listens on, as a crashed
// wireguard-go would, removed when the test ends.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll("/var/run/wireguard", 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	t.Cleanup(func() { os.Remove(path) })
}

// readDevice reads the tag's WireGuard device with wgctrl opened in its
// endpoint namespace.
func readDevice(t *testing.T, tag string) *wgtypes.Device {
	t.Helper()
	ns, err := backbone.OpenNS(backbone.EndpointNSName(tag))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var dev *wgtypes.Device
	err = backbone.RunIn(ns, func() error {
		c, err := wgctrl.New()
		if err != nil {
			return err
		}
		defer c.Close()
		dev, err = c.Device(backbone.DeviceName(tag))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// firstIP is the first of allowed IPs in text ("" for none).
func firstIP(ips []net.IPNet) string {
	if len(ips) == 0 {
		return ""
	}
	return ips[0].String()
}

func newKey(t *testing.T) backbone.Key {
	t.Helper()
	k, err := backbone.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
