// Package backbone joins the namespaces of Strait hosts across a datacenter
// network (the underlay): an encrypted, mutually authenticated link to every
// peer host, one VXLAN per VPC inside it that joins the VPC's namespaces on
// different hosts, and one more that joins the hosts' transit namespaces.
//
// Encryption. Each host has a Curve25519 key pair (its private key never
// leaves it; the control plane hands out the public keys) and every pair of
// hosts a preshared key derived from a pair secret of the control plane
// (PairKey, HKDF-SHA256), so a peer is accepted only when both its key and the
// control plane's secret for the pair are right. The link is WireGuard: the
// kernel module where it exists (detected, not used yet: KernelWireGuard), else
// wireguard-go in this process on a TUN device "bbwg<tag>" (MethodUserspace;
// this project's kernels have neither WireGuard nor ESP, so XFRM cannot carry
// IPsec here). MethodPlain sends VXLAN over the underlay unencrypted, for
// trusted networks, and only when asked for.
//
// Overlay addresses. With encryption each host's VXLAN endpoint is an IPv6
// address derived from its underlay address (InnerAddr, in fd73:7472:6169:7400::/96)
// on the TUN device, so nothing on the underlay or in any VPC can clash with it
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
// a restarted agent adopts what it finds. Close stops the encryption (traffic
// stops with the process, as wireguard-go lives in it) and leaves the VXLAN
// devices; (*Backbone).Down removes everything it made. `strait down` needs
// nothing from here: netns.Down removes the endpoint namespace
// ("strait-<tag>-backbone") with the others, and the VXLAN devices go with
// their namespaces.
package backbone
