package relay

import (
	"log/slog"
	"net/netip"
	"sync"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/dataplane"
)

// Local is a relay in this process: a dataplane.Proxy serving listeners opened
// in the host's VPC namespaces, and the VPCs' resolvers.
type Local struct {
	*dataplane.Proxy
	host *netns.Host
	log  *slog.Logger

	mu        sync.Mutex
	open      map[listenKey]*openListener
	resolvers map[string]*resolver // VPC → its resolver
}

type listenKey struct {
	vpc  string
	addr netip.AddrPort
}

type openListener struct {
	ln    *dataplane.ListenSocket
	entry dataplane.Entry
}

var _ agent.Relay = (*Local)(nil)

// NewLocal returns a relay in this process: proxy, with listeners opened in
// host's namespaces.
func NewLocal(proxy *dataplane.Proxy, host *netns.Host, log *slog.Logger) *Local {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Local{Proxy: proxy, host: host, log: log, open: map[listenKey]*openListener{},
		resolvers: map[string]*resolver{}}
}

// Listen implements agent.Relay: one trip into the VPC's namespace opens
// every listener, and the proxy serves each.
func (l *Local) Listen(vpc string, addrs []netip.AddrPort, entries []dataplane.Entry) ([]error, error) {
	lns, errs, err := l.host.ListenAll(vpc, addrs)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, ln := range lns {
		if ln == nil {
			continue
		}
		k := listenKey{vpc, addrs[i]}
		if old := l.open[k]; old != nil {
			old.ln.Close() // cannot happen: the address was in use
		}
		l.open[k] = &openListener{ln: ln, entry: entries[i]}
		go l.serve(k, ln, entries[i])
	}
	return errs, nil
}

func (l *Local) serve(k listenKey, ln *dataplane.ListenSocket, e dataplane.Entry) {
	if err := l.Serve(ln, e); err != nil {
		l.log.Warn("data-plane listener stopped", "addr", k.addr, "vpc", k.vpc, "err", err)
	}
}

// Unlisten implements agent.Relay.
func (l *Local) Unlisten(vpc string, addr netip.AddrPort) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := listenKey{vpc, addr}
	if o := l.open[k]; o != nil {
		o.ln.Close()
		delete(l.open, k)
	}
}

// ForgetVPC implements agent.Relay.
func (l *Local) ForgetVPC(vpc string) {
	l.mu.Lock()
	for k, o := range l.open {
		if k.vpc == vpc {
			o.ln.Close()
			delete(l.open, k)
		}
	}
	l.closeResolver(vpc)
	l.mu.Unlock()
	l.host.DropSpares(vpc)
}

// Listening implements agent.Relay.
func (l *Local) Listening() []agent.Listening {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]agent.Listening, 0, len(l.open))
	for k, o := range l.open {
		out = append(out, agent.Listening{VPC: k.vpc, Addr: k.addr, Entry: o.entry})
	}
	return out
}

// Close implements agent.Relay: the proxy closes every listener and
// connection, and the resolvers stop.
func (l *Local) Close() {
	l.mu.Lock()
	for vpc := range l.resolvers {
		l.closeResolver(vpc)
	}
	l.mu.Unlock()
	l.Proxy.Close()
	l.mu.Lock()
	clear(l.open)
	l.mu.Unlock()
}
