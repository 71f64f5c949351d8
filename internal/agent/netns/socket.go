package netns

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"strait/internal/dataplane"
)

// Listen opens a TCP listener on addr inside the namespace of a VPC (or instance) of
// this host, for the VPC resolver over TCP (the data plane's listeners come from
// ListenAll). The socket keeps its namespace: accepted connections come from the
// VPC. The address must exist there (SetAddresses first).
func (h *Host) Listen(vpcID string, addr netip.AddrPort) (*net.TCPListener, error) {
	var ln *net.TCPListener
	err := h.Do(vpcID, func() (err error) {
		// No keep-alive probes: DNS over TCP connections are short, and each
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

// ListenAll opens data-plane listening sockets on addrs inside the namespace of a
// VPC, entering it once, bound to its network device device when that is not
// "" (dataplane.ListenDevice): lns[i] is the socket of addrs[i], nil when errs[i] says
// why not. err is set when the namespace could not be entered at all. The
// sockets keep the namespace; the proxy accepts from them without Go's poller
// (dataplane.Listen), with the backlog Go's listeners have, and no keep-alive
// probes (the data plane has its own idle timeout).
func (h *Host) ListenAll(vpcID string, addrs []netip.AddrPort, device string) (lns []*dataplane.ListenSocket, errs []error, err error) {
	lns = make([]*dataplane.ListenSocket, len(addrs))
	errs = make([]error, len(addrs))
	err = h.Do(vpcID, func() error {
		for i, addr := range addrs {
			l, err := dataplane.ListenDevice(addr, device)
			if err != nil {
				errs[i] = fmt.Errorf("listening on %s in %s: %w", addr, vpcID, err)
				continue
			}
			lns[i] = l
		}
		return nil
	})
	if err != nil {
		for _, l := range lns {
			if l != nil {
				l.Close()
			}
		}
		return nil, nil, fmt.Errorf("listening in %s: %w", vpcID, err)
	}
	return lns, errs, nil
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

// StartDial starts connecting to `to` from a socket created inside the
// namespace of a VPC (or instance) and bound to from (any port; no binding
// when from is the zero Addr), without waiting: done reports whether the
// handshake is over, else wait for it with dataplane.AwaitConnect. The socket
// is non-blocking and close-on-exec, and the caller owns it (the data plane
// relays it without Go's poller). It is the data plane's Dialer.
func (h *Host) StartDial(vpcID string, from netip.Addr, to netip.AddrPort) (fd int, done bool, err error) {
	fd, done, err = h.startDial(h.Namespace(vpcID), from, to)
	if err != nil {
		return -1, false, fmt.Errorf("dialing %s from %s in %s: %w", to, from, vpcID, err)
	}
	return fd, done, nil
}

// DialSocket is StartDial waiting for the handshake; ctx bounds the wait.
func (h *Host) DialSocket(ctx context.Context, vpcID string, from netip.Addr, to netip.AddrPort) (int, error) {
	start := func(vpcID string, from netip.Addr, to netip.AddrPort) (int, bool, error) {
		return h.startDial(h.Namespace(vpcID), from, to)
	}
	fd, err := dataplane.DialWait(ctx, start, vpcID, from, to)
	if err != nil {
		return -1, fmt.Errorf("dialing %s from %s in %s: %w", to, from, vpcID, err)
	}
	return fd, nil
}

// Dial is DialSocket returning a *net.TCPConn.
func (h *Host) Dial(ctx context.Context, vpcID string, from netip.Addr, to netip.AddrPort) (*net.TCPConn, error) {
	fd, err := h.DialSocket(ctx, vpcID, from, to)
	if err != nil {
		return nil, err
	}
	return dataplane.SocketConn(fd)
}
