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

// Generation implements agent.Relay: an in-process relay is never replaced.
func (l *Local) Generation() string { return "local" }

// Listen implements agent.Relay: one trip into the VPC's namespace opens
// every listener, and the proxy serves each. A listener already open on an
// address stays open with the same entry, and is opened again with another.
func (l *Local) Listen(vpc string, addrs []netip.AddrPort, entries []dataplane.Entry) ([]error, error) {
	errs := make([]error, len(addrs))
	var open []int // indexes of addrs to open
	l.mu.Lock()
	for i, a := range addrs {
		k := listenKey{vpc, a}
		if o := l.open[k]; o != nil {
			if o.entry == entries[i] {
				continue
			}
			o.ln.Close()
			delete(l.open, k)
		}
		open = append(open, i)
	}
	l.mu.Unlock()
	if len(open) == 0 {
		return errs, nil
	}
	// Transit listeners (dataplane.Entry.Transit) take connections from the
	// transit link only: those of other hosts' relays.
	byDevice := map[string][]int{}
	for _, i := range open {
		d := ""
		if entries[i].Transit {
			d = netns.TransitDevice
		}
		byDevice[d] = append(byDevice[d], i)
	}
	for device, open := range byDevice {
		want := make([]netip.AddrPort, len(open))
		for j, i := range open {
			want[j] = addrs[i]
		}
		lns, lerrs, err := l.host.ListenAll(vpc, want, device)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		for j, i := range open {
			if lns[j] == nil {
				errs[i] = lerrs[j]
				continue
			}
			k := listenKey{vpc, addrs[i]}
			l.open[k] = &openListener{ln: lns[j], entry: entries[i]}
			go l.serve(k, lns[j], entries[i])
		}
		l.mu.Unlock()
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

// EndpointStats implements agent.Relay.
func (l *Local) EndpointStats(ids []string) map[string]dataplane.Stats {
	out := make(map[string]dataplane.Stats, len(ids))
	for _, id := range ids {
		out[id] = l.Proxy.EndpointStats(id)
	}
	return out
}

// SetTranslated implements agent.Relay.
func (l *Local) SetTranslated(per map[string]agent.Translated) {
	for id, t := range per {
		l.Proxy.SetTranslated(id, t.ServiceID, t.Stats)
	}
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
