// Package backbone joins the namespaces of Strait hosts across a datacenter
// network (the underlay): an encrypted, mutually authenticated link to every
// peer host, one VXLAN per VPC inside it that joins the VPC's namespaces on
// different hosts, and one more that joins the hosts' transit namespaces.
//
// Encryption. Each host has a Curve25519 key pair (its private key never
// leaves it; the control plane hands out the public keys) and every pair of
// hosts a preshared key derived from a pair secret of the control plane
// (PairKey, HKDF-SHA256), so a peer is accepted only when both its key and the
// control plane's secret for the pair are right. The link is WireGuard, on a
// device "bbwg<tag>" in the endpoint namespace "strait-<tag>-backbone" (which
// holds it and the VXLAN devices' UDP sockets, so nothing on the underlay
// reaches those but what WireGuard lets through), its own UDP socket in the
// host namespace on the underlay:
//
//   - MethodWireGuard, the kernel's WireGuard, where the kernel has it
//     (KernelWireGuard; ModeAuto picks it there). The device is created from
//     the host namespace straight into the endpoint namespace, because the
//     kernel opens its UDP socket in the namespace it was created from. It
//     outlives the process: Close leaves it carrying traffic with the peers it
//     has, and the next New adopts it (sessions and all).
//   - MethodUserspace, wireguard-go in this process on a TUN device of that
//     name (ModeAuto elsewhere, or ModeUserspace), its UDP sockets opened in
//     the host namespace; it serves its configuration socket
//     /var/run/wireguard/bbwg<tag>.sock (root's only, removed by Close; a
//     stale one from a crash is replaced) and stops with Close or the
//     process. This project's kernels have neither WireGuard nor ESP, so
//     XFRM cannot carry IPsec here either.
//
// Both are configured by the same code through wgctrl (wireguard.go): the
// kernel's device over generic netlink, opened in the endpoint namespace
// because the kernel finds devices in the socket's namespace; wireguard-go's
// over its configuration socket. SetPeers reads the device back and changes
// only the peers that differ. So the tests, which run wireguard-go on these
// machines, check the configuration the kernel's device would get; what they
// cannot check here is the kernel's device itself: its creation, its
// adoption and its removal (ensureKernelDevice, Down) have never run on a
// kernel with WireGuard.
//
// MethodPlain sends VXLAN over the underlay unencrypted, for trusted
// networks, and only when asked for.
//
// Overlay addresses. With encryption each host's VXLAN endpoint is an IPv6
// address derived from its underlay address (InnerAddr, in fd73:7472:6169:7400::/96)
// on the WireGuard device, so nothing on the underlay or in any VPC can clash with it
// and no address needs allocating; in plain mode it is the underlay address.
//
// VPCs. SetVPC puts a VXLAN device "backbone" with the VPC's VNI into the VPC's
// namespace (created from the host namespace, so its UDP socket stays there).
// It has no address: each remote subnet is routed "via <the subnet's gateway>
// dev backbone onlink", and the gateway, which the peer's VPC namespace holds
// on its subnet bridge (netns.Gateway), has a permanent neighbour entry with
// that peer's device MAC (derived from host ID and VNI) and a static FDB entry
// to the peer's endpoint. Nothing is learnt and nothing is flooded: no ARP, no
// multicast crosses the backbone. VPCs with the same CIDR stay apart because
// their VNIs differ. SetTransit does the same for the transit namespace with
// TransitVNI, routing each remote transit address as a /32 on the link with a
// permanent neighbour entry for the address itself.
//
// Every call applies a whole desired state and changes only what differs, so
// a restarted agent adopts what it finds. Close stops wireguard-go (traffic
// across hosts stops with the process, as wireguard-go lives in it) or leaves
// the kernel's WireGuard device, and leaves the VXLAN devices;
// (*Backbone).Down removes everything it made. `strait down` needs nothing
// from here: netns.Down removes the endpoint namespace
// ("strait-<tag>-backbone") with the others, and the VXLAN devices and the
// kernel's WireGuard device go with their namespaces (a WireGuard device is
// deleted, not returned, when its namespace goes; its UDP socket in the host
// namespace closes with it).
package backbone
