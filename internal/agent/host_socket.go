package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// Listen opens a TCP listener on addr inside the namespace of a VPC (or instance) of
// this host. The socket keeps its namespace: accepted connections come from the
// VPC. The address must exist there (SetAddresses first).
func (h *Host) Listen(vpcID string, addr netip.AddrPort) (*net.TCPListener, error) {
	var ln *net.TCPListener
	err := h.Do(vpcID, func() (err error) {
		// No keep-alive probes: the data plane has its own idle timeout, and each
		// accepted socket saves the setsockopt calls.
		lc := net.ListenConfig{KeepAlive: -1}
		l, err := lc.Listen(context.Background(), "tcp", addr.String())
		if err == nil {
			ln = l.(*net.TCPListener)
		}
		return err
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("listening on %s in %s: %w", addr, vpcID, err)
	}
	return ln, nil
}

// ListenUDP opens a UDP socket on addr inside the namespace of a VPC (or instance),
// for the VPC resolver.
func (h *Host) ListenUDP(vpcID string, addr netip.AddrPort) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := h.Do(vpcID, func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("listening on udp %s in %s: %w", addr, vpcID, err)
	}
	return c, nil
}

// Dial connects to `to` from a socket created inside the namespace of a VPC (or
// instance) and bound to from (any port; no binding when from is the zero Addr).
// ctx bounds the connection attempt only.
func (h *Host) Dial(ctx context.Context, vpcID string, from netip.Addr, to netip.AddrPort) (*net.TCPConn, error) {
	c, err := dialIn(ctx, h.Namespace(vpcID), from, to)
	if err != nil {
		return nil, fmt.Errorf("dialing %s from %s in %s: %w", to, from, vpcID, err)
	}
	return c, nil
}
