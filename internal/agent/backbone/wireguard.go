package backbone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strait/internal/agent/netns"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
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

// deviceName is the WireGuard device of a tag's backbone, in its endpoint
// namespace.
func deviceName(tag string) string { return "bbwg" + tag }

// wireGuard is the backbone's WireGuard device in the endpoint namespace: the
// kernel's (MethodWireGuard) or wireguard-go's on a TUN device
// (MethodUserspace). The same code configures both, through wgctrl: the
// kernel's device over generic netlink, wireguard-go's over its configuration
// socket (userspace.go); so what the tests of wireguard-go check is also the
// configuration the kernel's device gets.
type wireGuard struct {
	name string
	port uint16         // the peers' UDP port
	ctl  *wgctrl.Client // opened in the endpoint namespace
	user *userspace     // nil for the kernel's device
}

// startWireGuard makes the device with the method (creating it, or adopting
// the kernel's device a previous run left), gives it the host's private key,
// the UDP port to listen on in the host namespace, inner/96 and mtu, and
// brings it up, with the peers it had (none when new).
func startWireGuard(method Method, hostNS, endpointNS vnetns.NsHandle, tag string, priv Key, inner netip.Addr, port uint16, mtu int, log *slog.Logger) (*wireGuard, error) {
	w := &wireGuard{name: deviceName(tag), port: port}
	// wgctrl's kernel client talks generic netlink in the namespace of the
	// thread that opens it, and finds devices by name there: open it in the
	// device's. Its wireguard-go client dials a socket by path, from anywhere.
	err := runIn(endpointNS, func() (err error) {
		w.ctl, err = wgctrl.New()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening wgctrl: %w", err)
	}
	switch method {
	case MethodWireGuard:
		// A crashed wireguard-go of an earlier run in ModeUserspace may have
		// left its socket.
		if err = removeStaleUAPI(w.name); err == nil {
			err = ensureKernelDevice(hostNS, endpointNS, w.name, mtu)
		}
	case MethodUserspace:
		w.user, err = startUserspace(hostNS, endpointNS, w.name, mtu, log)
	default:
		err = fmt.Errorf("no WireGuard device for method %q", method)
	}
	if err == nil {
		k, p := wgtypes.Key(priv), int(port)
		if err = w.ctl.ConfigureDevice(w.name, wgtypes.Config{PrivateKey: &k, ListenPort: &p}); err != nil {
			err = fmt.Errorf("configuring %s: %w", w.name, err)
		}
	}
	if err == nil {
		err = upLink(endpointNS, w.name, inner, mtu)
	}
	if err == nil && w.user != nil {
		err = w.user.dev.Up()
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("starting WireGuard (%s) on %s: %w", method, w.name, err)
	}
	return w, nil
}

// setPeers makes the device's peers exactly peers, each allowed its inner
// address and reached at its underlay address; it reads the device first and
// changes only what differs, so sessions of peers that stay are kept (also
// those of a kernel device adopted from a previous run, whose peers it
// removes when they are no longer wanted).
func (w *wireGuard) setPeers(peers []Peer) error {
	dev, err := w.ctl.Device(w.name)
	if err != nil {
		return fmt.Errorf("reading WireGuard device %s: %w", w.name, err)
	}
	cfg := peerChanges(dev.Peers, peers, w.port)
	if len(cfg.Peers) == 0 {
		return nil
	}
	if err := w.ctl.ConfigureDevice(w.name, cfg); err != nil {
		return fmt.Errorf("configuring the peers of WireGuard device %s: %w", w.name, err)
	}
	return nil
}

// peerChanges is the configuration that turns a device's peers (have) into
// want: a wanted peer that is missing or differs gets its preshared key, its
// endpoint (its underlay address, port) and its inner address as the one
// address it may send from and is sent to; a peer not wanted is removed; a
// peer as wanted is left out.
//
// No persistent keepalive: on a datacenter network no NAT needs it, and two
// peers that both start a handshake at once (as a keepalive sent on
// configuration makes them) discard each other's responses and wait 5
// seconds to retry. A session starts with the first packet.
func peerChanges(have []wgtypes.Peer, want []Peer, port uint16) wgtypes.Config {
	current := map[wgtypes.Key]wgtypes.Peer{}
	for _, p := range have {
		current[p.PublicKey] = p
	}
	var cfg wgtypes.Config
	wanted := map[wgtypes.Key]bool{}
	for _, p := range want {
		pub, psk := wgtypes.Key(p.Keys.Public), wgtypes.Key(p.Keys.Preshared)
		wanted[pub] = true
		endpoint := netip.AddrPortFrom(p.Underlay, port)
		allowed := netip.PrefixFrom(InnerAddr(p.Underlay), 128)
		if c, ok := current[pub]; ok && c.PresharedKey == psk && addrPort(c.Endpoint) == endpoint &&
			len(c.AllowedIPs) == 1 && prefixOf6(c.AllowedIPs[0]) == allowed {
			continue
		}
		cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{
			PublicKey:         pub,
			PresharedKey:      &psk,
			Endpoint:          net.UDPAddrFromAddrPort(endpoint),
			ReplaceAllowedIPs: true,
			AllowedIPs:        []net.IPNet{{IP: allowed.Addr().AsSlice(), Mask: net.CIDRMask(128, 128)}},
		})
	}
	for _, p := range have {
		if !wanted[p.PublicKey] {
			cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: p.PublicKey, Remove: true})
		}
	}
	return cfg
}

// addrPort is a UDP address as a netip.AddrPort (IPv4 unmapped; the zero
// value for nil).
func addrPort(a *net.UDPAddr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// prefixOf6 converts an allowed IP to a prefix, as it is (an IPv6 prefix stays IPv6).
func prefixOf6(n net.IPNet) netip.Prefix {
	ip, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip, ones)
}

// close stops wireguard-go (its TUN device goes with it) or leaves the
// kernel's device as it is, carrying traffic with the peers it has until a
// restarted backbone adopts it or Down removes it.
func (w *wireGuard) close() {
	if w.user != nil {
		w.user.close()
	}
	w.ctl.Close()
}

// upLink brings lo and the device up in the endpoint namespace, with mtu and
// inner/96 as its one global address (an adopted device may hold another,
// from a previous underlay address).
func upLink(endpointNS vnetns.NsHandle, name string, inner netip.Addr, mtu int) error {
	return withHandleIn(endpointNS, func(nh *netlink.Handle) error {
		lo, err := nh.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netns.EnsureUp(nh, lo); err != nil {
			return err
		}
		l, err := nh.LinkByName(name)
		if err != nil {
			return err
		}
		if l.Attrs().MTU != mtu {
			if err := nh.LinkSetMTU(l, mtu); err != nil {
				return fmt.Errorf("setting the MTU of %s: %w", name, err)
			}
		}
		want := &netlink.Addr{IPNet: &net.IPNet{IP: inner.AsSlice(), Mask: net.CIDRMask(innerPrefix.Bits(), 128)}, Flags: unix.IFA_F_NODAD}
		addrs, err := nh.AddrList(l, unix.AF_INET6)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.Scope == unix.RT_SCOPE_UNIVERSE && !a.IP.Equal(want.IP) {
				if err := nh.AddrDel(l, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
					return fmt.Errorf("removing %s from %s: %w", a.IPNet, name, err)
				}
			}
		}
		if err := nh.AddrReplace(l, want); err != nil {
			return fmt.Errorf("adding %s to %s: %w", inner, name, err)
		}
		return netns.EnsureUp(nh, l)
	})
}
