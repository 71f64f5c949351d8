package backbone

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// ensureKernelDevice makes name in the endpoint namespace a kernel WireGuard
// device with mtu. One already there is adopted: the kernel's device outlives
// the process that made it and goes on carrying traffic with the
// configuration it has, so a restarted backbone takes it over (its peers'
// sessions too) and configures it. A device of the name of another kind is
// removed. A new one is created from the host namespace straight into the
// endpoint namespace: the kernel opens a WireGuard device's UDP socket in
// the namespace it was created from, so it listens on the underlay while the
// device, and what it decrypts, stays in the endpoint namespace (as with the
// VXLAN devices' sockets).
//
// This machine's kernel has no WireGuard: nothing here has run in a test.
func ensureKernelDevice(hostNS, endpointNS vnetns.NsHandle, name string, mtu int) error {
	return withHandleIn(endpointNS, func(nh *netlink.Handle) error {
		l, err := nh.LinkByName(name)
		switch {
		case errors.As(err, new(netlink.LinkNotFoundError)):
		case err != nil:
			return err
		case l.Type() == "wireguard":
			return nil
		default:
			if err := nh.LinkDel(l); err != nil {
				return fmt.Errorf("removing %s (a %s device): %w", name, l.Type(), err)
			}
		}
		return withHandleIn(hostNS, func(hostNH *netlink.Handle) error {
			wg := &netlink.Wireguard{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu, Namespace: netlink.NsFd(int(endpointNS))}}
			if err := hostNH.LinkAdd(wg); err != nil {
				return fmt.Errorf("creating the kernel's WireGuard device %s: %w (--backbone %s runs WireGuard in user space instead)", name, err, ModeUserspace)
			}
			return nil
		})
	})
}
