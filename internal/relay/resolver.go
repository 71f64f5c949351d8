package relay

import (
	"net"
	"net/netip"

	"strait/internal/dns"
)

// resolver is a VPC's DNS resolver, served from sockets inside its namespace.
type resolver struct {
	addr netip.AddrPort
	srv  *dns.Server
	udp  *net.UDPConn
	tcp  *net.TCPListener
}

func (r *resolver) close() {
	r.srv.Close()
	r.udp.Close()
	r.tcp.Close()
}

// SetResolver implements agent.Relay. The resolver's TCP connections take
// descriptors of the proxy's share (LimitListener). A resolver that runs on
// another address is moved.
func (l *Local) SetResolver(vpc string, addr netip.AddrPort, records map[string][]netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.resolvers[vpc]
	if r != nil && r.addr != addr {
		r.close()
		delete(l.resolvers, vpc)
		r = nil
	}
	if r == nil {
		udp, err := l.host.ListenUDP(vpc, addr)
		if err != nil {
			return err
		}
		tcp, err := l.host.Listen(vpc, addr)
		if err != nil {
			udp.Close()
			return err
		}
		r = &resolver{addr: addr, srv: dns.New(l.log), udp: udp, tcp: tcp}
		l.resolvers[vpc] = r
		go func() {
			if err := r.srv.Serve(udp, l.LimitListener(tcp)); err != nil {
				l.log.Warn("resolver stopped", "vpc", vpc, "err", err)
			}
		}()
	}
	r.srv.SetRecords(records)
	return nil
}

// closeResolver closes the resolver of vpc, if it runs. The caller holds l.mu.
func (l *Local) closeResolver(vpc string) {
	if r := l.resolvers[vpc]; r != nil {
		r.close()
		delete(l.resolvers, vpc)
	}
}
