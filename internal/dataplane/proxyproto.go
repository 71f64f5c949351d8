package dataplane

import (
	"errors"
	"net/netip"
)

// PROXY protocol version 2 (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt)
// as the AWS network load balancer writes it.
const (
	ppCmdProxy   = 0x21 // version 2, command PROXY
	ppTCPv4      = 0x11 // AF_INET, STREAM
	ppTCPv6      = 0x21 // AF_INET6, STREAM
	ppTypeAWS    = 0xEA // PP2_TYPE_AWS
	ppSubtypeVPC = 0x01 // PP2_SUBTYPE_AWS_VPCE_ID
)

// ppSignature opens every PROXY v2 header.
var ppSignature = [12]byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// MaxProxyHeaderV2Len is the length of the longest header AppendProxyHeaderV2
// writes for an endpoint ID of n bytes: signature, 4 fixed bytes, two IPv6
// addresses with ports and the AWS TLV.
func MaxProxyHeaderV2Len(n int) int { return 16 + 36 + 4 + n }

// errProxyHeader reports addresses or an endpoint ID a PROXY v2 header cannot carry.
var errProxyHeader = errors.New("dataplane: PROXY v2 header: invalid address or endpoint ID too long")

// AppendProxyHeaderV2 appends a PROXY protocol v2 header to b and returns the
// extended slice: command PROXY, TCP over IPv4 when both addresses are IPv4
// (otherwise IPv6, IPv4 addresses mapped), source src (the client as the
// listener saw it), destination dst (the listener's address) and, when
// endpointID is not empty, the AWS TLV 0xEA with subtype 0x01 followed by the
// endpoint ID. It allocates only when b lacks capacity.
func AppendProxyHeaderV2(b []byte, src, dst netip.AddrPort, endpointID string) ([]byte, error) {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if !s.IsValid() || !d.IsValid() {
		return b, errProxyHeader
	}
	fam, addrLen := byte(ppTCPv4), 12
	if !s.Is4() || !d.Is4() {
		fam, addrLen = ppTCPv6, 36
	}
	tlvLen := 0
	if endpointID != "" {
		tlvLen = 3 + 1 + len(endpointID)
	}
	total := addrLen + tlvLen
	if total > 0xFFFF {
		return b, errProxyHeader
	}
	b = append(b, ppSignature[:]...)
	b = append(b, ppCmdProxy, fam, byte(total>>8), byte(total))
	if fam == ppTCPv4 {
		s4, d4 := s.As4(), d.As4()
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
	} else {
		s16, d16 := s.As16(), d.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	}
	b = append(b, byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port()))
	if endpointID != "" {
		n := 1 + len(endpointID)
		b = append(b, ppTypeAWS, byte(n>>8), byte(n), ppSubtypeVPC)
		b = append(b, endpointID...)
	}
	return b, nil
}
