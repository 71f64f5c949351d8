package backbone

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// Config says how this host joins the backbone.
type Config struct {
	Tag       string     // the server's tag (netns.TagFor): 1 to 11 lower-case letters or digits
	HostID    string     // this host's ID, as its peers know it
	Namespace string     // the host namespace, holding the underlay ("" = this process's)
	Underlay  netip.Addr // this host's IPv4 address on the underlay (its backbone address)
	Mode      string     // ModeAuto (default) or ModePlain
	// PrivateKey is this host's WireGuard key (unused in plain mode).
	PrivateKey Key
	// ListenPort is WireGuard's UDP port, the same on every host
	// (DefaultListenPort when 0).
	ListenPort uint16
	// UnderlayMTU is the underlay's MTU (1500 when 0); the VXLAN devices get
	// what is left after the encapsulations.
	UnderlayMTU int
	Log         *slog.Logger
}

// Peer is another host of the backbone.
type Peer struct {
	HostID   string
	Underlay netip.Addr
	Keys     Keys // unused in plain mode
	// Transit is the host's own transit address (model.Host.TransitIP), which
	// its flows to this host's load balancer nodes come from; invalid when it
	// has none. SetTransit routes it.
	Transit netip.Addr
}

// Backbone is this host's side of the backbone. Its methods are safe for
// concurrent use; each applies a whole desired state.
type Backbone struct {
	cfg    Config
	log    *slog.Logger
	method Method
	hostNS vnetns.NsHandle
	vxNS   vnetns.NsHandle // where the VXLAN devices' UDP socket lives
	local  netip.Addr      // this host's VXLAN endpoint
	mtu    int             // of the VXLAN devices

	mu      sync.Mutex
	wg      *wireGuard // nil in plain mode
	peers   map[string]Peer
	vpcs    map[string]vpcConfig // by VPC ID
	transit *transitConfig       // nil when no transit namespace is joined
	nat     netip.Addr           // the source the transit table translates to
	natOK   bool                 // the transit table is as nat says
	closed  bool
}

// New joins this host to the backbone: in ModeAuto and ModeUserspace it
// starts WireGuard as MethodFor says on the device "bbwg<tag>" in the
// endpoint namespace (adopting the kernel's device a previous run left, with
// its peers until SetPeers); in ModePlain it has nothing to start.
func New(cfg Config) (*Backbone, error) {
	if !validTag(cfg.Tag) {
		return nil, fmt.Errorf("backbone: invalid tag %q: want 1 to 11 lower-case letters or digits", cfg.Tag)
	}
	if cfg.HostID == "" {
		return nil, errors.New("backbone: no host ID")
	}
	if !cfg.Underlay.Is4() {
		return nil, fmt.Errorf("backbone: underlay address %s: want an IPv4 address", cfg.Underlay)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ListenPort == 0 {
		cfg.ListenPort = DefaultListenPort
	}
	if cfg.UnderlayMTU == 0 {
		cfg.UnderlayMTU = 1500
	}
	b := &Backbone{cfg: cfg, log: cfg.Log.With("backbone", cfg.HostID), peers: map[string]Peer{}, vpcs: map[string]vpcConfig{}}
	ns, err := openNS(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	b.hostNS = ns
	switch cfg.Mode {
	case ModePlain:
		b.method, b.local, b.mtu = MethodPlain, cfg.Underlay, cfg.UnderlayMTU-vxlanOverhead4
		b.vxNS = ns
	case ModeAuto, ModeUserspace, "":
		if cfg.PrivateKey.IsZero() {
			ns.Close()
			return nil, errors.New("backbone: no private key")
		}
		if b.method, err = MethodFor(cfg.Mode); err != nil {
			ns.Close()
			return nil, fmt.Errorf("backbone: %w", err)
		}
		wgMTU := cfg.UnderlayMTU - wireGuardOverhead
		b.local, b.mtu = InnerAddr(cfg.Underlay), wgMTU-vxlanOverhead6
		if b.vxNS, err = ensureEndpointNS(cfg.Tag); err != nil {
			ns.Close()
			return nil, fmt.Errorf("backbone: %w", err)
		}
		b.wg, err = startWireGuard(b.method, ns, b.vxNS, cfg.Tag, cfg.PrivateKey, b.local, cfg.ListenPort, wgMTU, b.log)
		if err != nil {
			b.vxNS.Close()
			ns.Close()
			return nil, fmt.Errorf("backbone: %w", err)
		}
	default:
		ns.Close()
		return nil, fmt.Errorf("backbone: unknown mode %q: want %q, %q or %q", cfg.Mode, ModeAuto, ModeUserspace, ModePlain)
	}
	b.log.Info("backbone up", "method", b.method, "underlay", cfg.Underlay, "endpoint", b.local)
	return b, nil
}

// validTag reports whether a tag fits the WireGuard device's name (15 characters).
func validTag(tag string) bool {
	if tag == "" || len(tag) > 11 {
		return false
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Method is how this backbone carries traffic.
func (b *Backbone) Method() Method { return b.method }

// SetPeers makes the other hosts of the backbone exactly peers, and updates
// the FDB entries of the VPCs and the transit namespace to their addresses.
// Invalid peers are an error and change nothing.
func (b *Backbone) SetPeers(peers []Peer) error {
	next := map[string]Peer{}
	for _, p := range peers {
		switch {
		case p.HostID == "" || p.HostID == b.cfg.HostID:
			return fmt.Errorf("backbone: peer with host ID %q: want another host's ID", p.HostID)
		case !p.Underlay.Is4():
			return fmt.Errorf("backbone: peer %s: underlay address %s: want an IPv4 address", p.HostID, p.Underlay)
		case p.Underlay == b.cfg.Underlay:
			return fmt.Errorf("backbone: peer %s has this host's underlay address %s", p.HostID, p.Underlay)
		case b.wg != nil && (p.Keys.Public.IsZero() || p.Keys.Preshared.IsZero()):
			return fmt.Errorf("backbone: peer %s: missing keys", p.HostID)
		}
		if _, dup := next[p.HostID]; dup {
			return fmt.Errorf("backbone: peer %s listed twice", p.HostID)
		}
		next[p.HostID] = p
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("backbone: closed")
	}
	if b.wg != nil {
		if err := b.wg.setPeers(peers); err != nil {
			return fmt.Errorf("backbone: %w", err)
		}
	}
	b.peers = next
	var errs []error
	for id, v := range b.vpcs {
		if err := b.applyVPC(id, v); err != nil {
			errs = append(errs, err)
		}
	}
	if b.transit != nil {
		errs = append(errs, b.applyTransit(*b.transit))
	}
	return errors.Join(errs...)
}

// endpoint is where a peer's VXLAN endpoint is.
func (b *Backbone) endpoint(p Peer) netip.Addr {
	if b.wg != nil {
		return InnerAddr(p.Underlay)
	}
	return p.Underlay
}

// Close stops wireguard-go (traffic across the backbone stops with it) or
// leaves the kernel's WireGuard device carrying traffic with the peers it has,
// and leaves the VXLAN devices: a restarted agent adopts them all.
func (b *Backbone) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.wg != nil {
		b.wg.close()
		b.vxNS.Close()
	}
	return b.hostNS.Close()
}

// Down removes everything this backbone made (VXLAN devices of the VPCs and
// the transit namespace it knows, the WireGuard device, the endpoint
// namespace) and closes it.
func (b *Backbone) Down() error {
	b.mu.Lock()
	var errs []error
	for id, v := range b.vpcs {
		errs = append(errs, removeBackboneLink(v.namespace))
		delete(b.vpcs, id)
	}
	if b.transit != nil {
		errs = append(errs, removeTransit(b.transit.namespace))
		b.transit, b.natOK = nil, false
	}
	b.mu.Unlock()
	errs = append(errs, b.Close())
	if b.wg != nil {
		// The kernel's device would go with its namespace, but only once
		// nothing holds that: remove it now (wireguard-go's went with Close).
		errs = append(errs, removeDevice(b.cfg.Tag))
	}
	errs = append(errs, removeEndpointNS(b.cfg.Tag))
	return errors.Join(errs...)
}

// removeBackboneLink deletes the "backbone" device of a namespace, if both exist.
func removeBackboneLink(namespace string) error {
	err := withLinks(namespace, func(_ vnetns.NsHandle, nh *netlink.Handle) error {
		return removeLink(nh, linkName)
	})
	if errors.Is(err, errNoNamespace) {
		return nil
	}
	return err
}

// removeDevice deletes the WireGuard device of the tag's endpoint namespace,
// if both exist.
func removeDevice(tag string) error {
	err := withLinks(endpointNSName(tag), func(_ vnetns.NsHandle, nh *netlink.Handle) error {
		return removeLink(nh, deviceName(tag))
	})
	if errors.Is(err, errNoNamespace) {
		return nil
	}
	return err
}
