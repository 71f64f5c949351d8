package backbone

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/netip"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"strait/internal/agent/netns"
)

// VNIs: 24 bits; 0 is left unused and TransitVNI is the transit namespaces'.
const (
	maxVNI     = 1<<24 - 1
	TransitVNI = maxVNI
)

// ErrVNIInUse is returned when a VNI is asked for a VPC while another VPC of
// this host has it: VPCs never share a VNI.
var ErrVNIInUse = errors.New("VNI in use by another VPC")

// DefaultVNI derives a VPC's VNI from its ID (SHA-256, 1 to TransitVNI-1).
// Different VPCs can get the same value (about one pair in 16 million): the
// control plane, which sees every VPC, assigns VNIs and uses this only as the
// first choice, and SetVPC refuses a VNI another VPC of the host has.
func DefaultVNI(vpcID string) uint32 {
	sum := sha256.Sum256([]byte("strait vni\x00" + vpcID))
	return binary.BigEndian.Uint32(sum[:4])%(maxVNI-1) + 1
}

// vpcConfig is what SetVPC was last given for a VPC.
type vpcConfig struct {
	vni       uint32
	namespace string
	remote    map[netip.Prefix]string // subnet → host ID
}

// SetVPC joins the VPC's namespace (a name as `ip netns` shows it) to the
// backbone with VNI vni, and routes each remote subnet to the host that
// serves it: "<subnet> via <its gateway> dev backbone onlink", the gateway's
// MAC that host's device MAC, and an FDB entry to each such host. Subnets
// must be IPv4 and of a known peer (SetPeers); a VNI another VPC of this host
// has is ErrVNIInUse. Calling it again changes only what differs; a VPC that
// moves to another VNI or namespace gets a new device.
func (b *Backbone) SetVPC(vpcID string, vni uint32, namespace string, remote map[netip.Prefix]string) error {
	if vni == 0 || vni >= TransitVNI {
		return fmt.Errorf("backbone: %s: VNI %d: want 1 to %d", vpcID, vni, TransitVNI-1)
	}
	if namespace == "" {
		return fmt.Errorf("backbone: %s: no namespace", vpcID)
	}
	for p := range remote {
		if !p.Addr().Is4() || p != p.Masked() || p.Bits() > 30 {
			return fmt.Errorf("backbone: %s: remote subnet %s: want an IPv4 prefix of at most /30 in canonical form", vpcID, p)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("backbone: closed")
	}
	for other, v := range b.vpcs {
		if other != vpcID && v.vni == vni {
			return fmt.Errorf("backbone: %s: VNI %d: %w (%s)", vpcID, vni, ErrVNIInUse, other)
		}
		if other != vpcID && v.namespace == namespace {
			return fmt.Errorf("backbone: %s: namespace %s belongs to %s", vpcID, namespace, other)
		}
	}
	if old, ok := b.vpcs[vpcID]; ok && old.namespace != namespace {
		if err := removeBackboneLink(old.namespace); err != nil {
			return fmt.Errorf("backbone: %s: %w", vpcID, err)
		}
	}
	v := vpcConfig{vni: vni, namespace: namespace, remote: maps.Clone(remote)}
	b.vpcs[vpcID] = v
	return b.applyVPC(vpcID, v)
}

// applyVPC brings a VPC's device to what v and the peers say.
func (b *Backbone) applyVPC(vpcID string, v vpcConfig) error {
	want := newLinkState()
	var missing []error
	for subnet, host := range v.remote {
		p, ok := b.peers[host]
		if !ok {
			missing = append(missing, fmt.Errorf("remote subnet %s: host %s is not a peer", subnet, host))
			continue
		}
		gw := netns.Gateway(subnet)
		mac := deviceMAC(host, v.vni)
		want.routes[subnet] = gw
		want.neigh[gw] = mac
		want.fdb[mac.String()] = b.endpoint(p)
	}
	err := b.applyLink(v.namespace, v.vni, want)
	if err = errors.Join(append(missing, err)...); err != nil {
		return fmt.Errorf("backbone: %s: %w", vpcID, err)
	}
	return nil
}

// applyLink makes the namespace's backbone device the VXLAN of vni carrying want.
func (b *Backbone) applyLink(namespace string, vni uint32, want linkState) error {
	spec := vxlanSpec{vni: vni, mac: deviceMAC(b.cfg.HostID, vni), local: b.local, mtu: b.mtu}
	return withHandleIn(b.vxNS, func(hostNH *netlink.Handle) error {
		return withLinks(namespace, func(ns vnetns.NsHandle, nh *netlink.Handle) error {
			l, err := ensureVXLAN(hostNH, ns, nh, spec)
			if err != nil {
				return err
			}
			return syncLink(nh, l, want)
		})
	})
}

// RemoveVPC removes the VPC's device (with its routes and entries) from
// namespace, the VPC's namespace: whether this backbone linked the VPC or an
// earlier run did (a restarted agent whose VPC no longer has remote subnets
// finds the device the last run left). Removing a device that is not there,
// or from a namespace that is gone, is not an error.
func (b *Backbone) RemoveVPC(vpcID, namespace string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.vpcs[vpcID]; ok {
		namespace = v.namespace
	}
	if err := removeBackboneLink(namespace); err != nil {
		return fmt.Errorf("backbone: %s: %w", vpcID, err)
	}
	delete(b.vpcs, vpcID)
	return nil
}
