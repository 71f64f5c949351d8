package backbone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// innerPrefix holds the hosts' VXLAN endpoints inside WireGuard: a unique
// local IPv6 prefix with the underlay IPv4 address in its last 32 bits.
var innerPrefix = netip.MustParsePrefix("fd73:7472:6169:7400::/96")

// InnerAddr is the address a host with underlay address u has inside the
// encrypted backbone.
func InnerAddr(u netip.Addr) netip.Addr {
	b := innerPrefix.Addr().As16()
	v4 := u.As4()
	copy(b[12:], v4[:])
	return netip.AddrFrom16(b)
}

// Overheads in bytes: WireGuard over IPv6 or IPv4 (outer IP 40, UDP 8,
// WireGuard 32) and VXLAN (outer IP, UDP 8, VXLAN 8, inner Ethernet 14).
const (
	wireGuardOverhead = 40 + 8 + 32
	vxlanOverhead4    = 20 + 8 + 8 + 14
	vxlanOverhead6    = 40 + 8 + 8 + 14
)

// DefaultListenPort is WireGuard's UDP port when Config.ListenPort is 0.
const DefaultListenPort = 51820

// tunName is the TUN device of a tag's userspace WireGuard in the host namespace.
func tunName(tag string) string { return "bbwg" + tag }

// userspace is wireguard-go on a TUN device in the host namespace.
type userspace struct {
	dev     *device.Device
	tunName string
	port    uint16
	peers   map[Key]bool // public keys configured
}

// startUserspace creates the TUN device in the endpoint namespace, holding
// inner/96, up, and starts wireguard-go on it with the host's private key,
// its UDP sockets in the host namespace listening on port.
func startUserspace(hostNS, endpointNS vnetns.NsHandle, tag string, priv Key, inner netip.Addr, port uint16, mtu int, log *slog.Logger) (*userspace, error) {
	name := tunName(tag)
	var dev *device.Device
	err := runIn(endpointNS, func() error {
		// A device of the name left by a crash would make TUNSETIFF attach to it.
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				return fmt.Errorf("removing the stale %s: %w", name, err)
			}
		}
		t, err := tun.CreateTUN(name, mtu)
		if err != nil {
			return fmt.Errorf("creating TUN device %s: %w", name, err)
		}
		dev = device.NewDevice(t, nsBind{Bind: conn.NewStdNetBind(), ns: hostNS}, wgLogger(log))
		return nil
	})
	if err != nil {
		return nil, err
	}
	u := &userspace{dev: dev, tunName: name, port: port, peers: map[Key]bool{}}
	if err := dev.IpcSet(fmt.Sprintf("private_key=%s\nlisten_port=%d\n", priv.hex(), port)); err != nil {
		dev.Close()
		return nil, fmt.Errorf("configuring wireguard-go: %w", err)
	}
	err = withHandleIn(endpointNS, func(nh *netlink.Handle) error {
		lo, err := nh.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := nh.LinkSetUp(lo); err != nil {
			return err
		}
		l, err := nh.LinkByName(name)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: inner.AsSlice(), Mask: net.CIDRMask(innerPrefix.Bits(), 128)}, Flags: unix.IFA_F_NODAD}
		if err := nh.AddrReplace(l, a); err != nil {
			return fmt.Errorf("adding %s to %s: %w", inner, name, err)
		}
		return nh.LinkSetUp(l)
	})
	if err == nil {
		err = dev.Up()
	}
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("starting wireguard-go on %s: %w", name, err)
	}
	return u, nil
}

// setPeers makes the device's peers exactly peers, each allowed its inner
// address and reached at its underlay address; sessions of peers that stay
// are kept.
func (u *userspace) setPeers(peers []Peer) error {
	var b strings.Builder
	want := map[Key]bool{}
	for _, p := range peers {
		want[p.Keys.Public] = true
		// No persistent keepalive: on a datacenter network no NAT needs it,
		// and two peers that both start a handshake at once (as a keepalive
		// sent on configuration makes them) discard each other's responses
		// and wait 5 seconds to retry. A session starts with the first packet.
		fmt.Fprintf(&b, "public_key=%s\npreshared_key=%s\nendpoint=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n",
			p.Keys.Public.hex(), p.Keys.Preshared.hex(), netip.AddrPortFrom(p.Underlay, u.port),
			netip.PrefixFrom(InnerAddr(p.Underlay), 128))
	}
	for k := range u.peers {
		if !want[k] {
			fmt.Fprintf(&b, "public_key=%s\nremove=true\n", k.hex())
		}
	}
	if err := u.dev.IpcSet(b.String()); err != nil {
		return fmt.Errorf("configuring wireguard-go peers: %w", err)
	}
	u.peers = want
	return nil
}

// close stops wireguard-go; its TUN device goes with it.
func (u *userspace) close() { u.dev.Close() }

// nsBind opens wireguard-go's UDP sockets in the host namespace, whichever
// thread (re)opens them.
type nsBind struct {
	conn.Bind
	ns vnetns.NsHandle
}

func (b nsBind) Open(port uint16) (fns []conn.ReceiveFunc, actual uint16, err error) {
	err = runIn(b.ns, func() error {
		fns, actual, err = b.Bind.Open(port)
		return err
	})
	return fns, actual, err
}

// wgLogger passes wireguard-go's messages to log: errors as warnings, the rest
// at debug level.
func wgLogger(log *slog.Logger) *device.Logger {
	return &device.Logger{
		Verbosef: func(format string, args ...any) { log.Debug("wireguard-go: " + fmt.Sprintf(format, args...)) },
		Errorf:   func(format string, args ...any) { log.Warn("wireguard-go: " + fmt.Sprintf(format, args...)) },
	}
}

// withHandleIn runs fn with a netlink handle in namespace ns.
func withHandleIn(ns vnetns.NsHandle, fn func(*netlink.Handle) error) error {
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	return fn(nh)
}

// removeLink deletes the named link of a namespace if it is there.
func removeLink(nh *netlink.Handle, name string) error {
	l, err := nh.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := nh.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}
