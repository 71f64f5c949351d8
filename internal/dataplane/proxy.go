package dataplane

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// DefaultDialTimeout bounds each dial to a target.
const DefaultDialTimeout = 10 * time.Second

// Options configure a Proxy.
type Options struct {
	// Dial opens connections to targets (traffic and health checks). Required.
	Dial Dialer
	// Report receives target health changes (may be nil), in order, from one
	// goroutine of the Proxy: it may block (later reports queue up) and may call
	// the Proxy, except Close.
	Report HealthReport
	// Logger gets debug and warning logs (nil: discard).
	Logger *slog.Logger
	// Registerer gets the traffic and health metrics (nil: none). Close
	// unregisters them.
	Registerer prometheus.Registerer
	// Selector picks targets by flow hash (nil: Rendezvous).
	Selector Selector
	// DialTimeout bounds each dial to a target (0: DefaultDialTimeout).
	DialTimeout time.Duration
}

// Proxy is the data plane of one host: it relays the connections of the
// listeners given to Serve according to the last Configure, and runs the
// health checks of the configured target groups.
type Proxy struct {
	opts        Options
	log         *slog.Logger
	sel         Selector
	dialTimeout time.Duration
	epoch       time.Time
	ctx         context.Context // cancelled by Close: aborts dials and checks
	cancel      context.CancelFunc
	collector   prometheus.Collector
	reports     *reporter

	table atomic.Pointer[table] // current routing; read lock-free per connection
	stats statsTable

	cfgMu    sync.Mutex // serializes Configure and Close
	states   map[stateKey]*targetState
	checkers sync.WaitGroup

	mu        sync.Mutex // guards the fields below
	closed    bool
	sessions  map[*session]struct{}
	listeners map[*ListenSocket]struct{}
	wg        sync.WaitGroup // connection goroutines and relayed directions not ended

	relays *relays // reactors, session registry, idle scan
}

// stateKey identifies a target's persistent state: group ARN and target.
type stateKey struct {
	group string
	targetKey
}

// New returns a Proxy with an empty configuration: every connection is rejected
// until Configure.
func New(opts Options) *Proxy {
	p := &Proxy{
		opts:        opts,
		log:         opts.Logger,
		sel:         opts.Selector,
		dialTimeout: opts.DialTimeout,
		epoch:       time.Now(),
		states:      map[stateKey]*targetState{},
		sessions:    map[*session]struct{}{},
		listeners:   map[*ListenSocket]struct{}{},
		stats: statsTable{
			endpoints: map[string]*endpointCounters{},
			services:  map[string]*counters{},
		},
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.sel == nil {
		p.sel = Rendezvous{}
	}
	if p.dialTimeout <= 0 {
		p.dialTimeout = DefaultDialTimeout
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.reports = newReporter(opts.Report)
	p.relays = newRelays(p)
	p.table.Store(buildTable(Config{}, nil))
	if opts.Registerer != nil {
		p.collector = collector{p}
		if err := opts.Registerer.Register(p.collector); err != nil {
			p.log.Warn("dataplane metrics not registered", "error", err)
			p.collector = nil
		}
	}
	return p
}

// clock returns the monotonic time since the proxy started, in nanoseconds.
func (p *Proxy) clock() int64 { return int64(time.Since(p.epoch)) }

// Configure replaces the routing configuration atomically. Connections accepted
// afterwards route by it; established connections stay unless their load
// balancer, listener, target group or target is gone, which closes them (this
// is how a deregistered target's connections end once its deregistration delay
// has passed and the agent removes it). Health checkers start for new targets of
// groups a load balancer uses and stop for targets that disappeared.
func (p *Proxy) Configure(cfg Config) {
	p.cfgMu.Lock()
	defer p.cfgMu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	seen := map[stateKey]bool{}
	t := buildTable(cfg, func(group string, k targetKey) *targetState {
		sk := stateKey{group, k}
		seen[sk] = true
		st := p.states[sk]
		if st == nil {
			st = &targetState{}
			p.states[sk] = st
		}
		return st
	})
	p.table.Store(t)
	for sk, st := range p.states {
		if !seen[sk] {
			st.stop()
			delete(p.states, sk)
		}
	}
	p.syncHealth(cfg, t)
	p.sweep(t)
}

// sweep closes the established connections the table no longer routes.
func (p *Proxy) sweep(t *table) {
	var gone []*session
	p.mu.Lock()
	for s := range p.sessions {
		if !s.routed(t) {
			gone = append(gone, s)
		}
	}
	p.mu.Unlock()
	for _, s := range gone {
		s.close()
	}
}

// Serve accepts connections on l and relays each as entry e says:
// e.LoadBalancer's listener on e.Port picks the target. It returns nil once l
// is closed (also by Close), or an accept error that is not temporary.
func (p *Proxy) Serve(l *ListenSocket, e Entry) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.Close()
		return nil
	}
	p.listeners[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		err := l.accept(func(fd int, client, local netip.AddrPort) {
			backoff = 0
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				unix.Close(fd)
				return
			}
			p.wg.Add(1)
			p.mu.Unlock()
			go p.handle(fd, client, local, e)
		})
		switch {
		case errors.Is(err, errSocketClosed):
			return nil
		case temporary(err):
			// Out of descriptors or memory: the queued connections wait (and the
			// listening socket stays readable), so wait before trying again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("accept failed; retrying", "listener", l.Addr().String(), "error", err, "retry_in", backoff)
			time.Sleep(backoff)
		default:
			return err
		}
	}
}

// temporary reports accept errors worth retrying: out of descriptors or memory.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Close stops the health checks, delivers the health changes already queued,
// closes the listeners given to Serve and every relayed connection, and waits
// for its goroutines. The Proxy cannot be used afterwards.
func (p *Proxy) Close() {
	p.cfgMu.Lock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.cfgMu.Unlock()
		return
	}
	p.closed = true
	var lns []*ListenSocket
	for ln := range p.listeners {
		lns = append(lns, ln)
	}
	var ss []*session
	for s := range p.sessions {
		ss = append(ss, s)
	}
	p.mu.Unlock()
	for _, st := range p.states {
		st.stop()
	}
	p.cfgMu.Unlock()

	p.cancel()
	for _, ln := range lns {
		ln.Close()
	}
	for _, s := range ss {
		s.close()
	}
	p.checkers.Wait()
	p.reports.close()
	p.wg.Wait()
	p.relays.close()
	if p.collector != nil {
		p.opts.Registerer.Unregister(p.collector)
	}
}

// handle routes one accepted connection, the client socket cfd (which it owns)
// from client to local, dials its target and starts the relay.
func (p *Proxy) handle(cfd int, client, local netip.AddrPort, e Entry) {
	defer p.wg.Done()
	t := p.table.Load()
	lb := t.lbs[e.LoadBalancer]
	ep, svc := p.counters(e, lb)
	owned := true // cfd is still handle's to close
	reject := func(msg string, args ...any) {
		if owned {
			unix.Close(cfd)
		}
		if ep != nil {
			ep.rejected.Add(1)
		}
		if svc != nil {
			svc.rejected.Add(1)
		}
		p.log.Warn("connection rejected: "+msg, append(args, "client", client.String(), "endpoint", e.EndpointID, "load_balancer", e.LoadBalancer, "port", e.Port)...)
	}
	if lb == nil {
		reject("no such load balancer")
		return
	}
	lis := lb.listeners[e.Port]
	if lis == nil || lis.group == nil {
		reject("no listener or target group on the port")
		return
	}
	node, ok := lb.node(e.AZ)
	if !ok {
		reject("load balancer has no node")
		return
	}
	flow := flowHash(client, local)
	var header []byte
	if lis.group.proxyV2 {
		h, err := AppendProxyHeaderV2(make([]byte, 0, MaxProxyHeaderV2Len(len(e.EndpointID))), client, local, e.EndpointID)
		if err != nil {
			reject("PROXY v2 header", "error", err)
			return
		}
		header = h
	}
	target := -1
	var ref *targetRef
	var tried []*targetRef
	for {
		var err error
		target, ref, err = p.dialTarget(lb, node, lis.byZone[node.AZ], flow, tried)
		if err != nil {
			reject("no target reachable", "error", err)
			return
		}
		if err = sendHeader(target, header); err == nil {
			break
		}
		p.log.Debug("PROXY v2 header not sent", "target", ref.label, "error", err)
		unix.Close(target)
		tried = append(tried, ref)
	}
	s := &session{p: p, lis: lis, ep: ep, svc: svc, idle: int64(lis.idle),
		retry: &retryInfo{node: node, flow: flow, header: header, tried: tried}}
	s.ref.Store(ref)
	owned = false // prepare takes both sockets over, also on error
	if err := s.prepare(cfd, target); err != nil {
		reject("relay setup", "error", err)
		return
	}
	if !p.register(s) {
		s.abort()
		reject("target left the configuration")
		return
	}
	s.start()
}

// sendHeader writes a PROXY v2 header (if any) to a new target connection. The
// socket's send buffer is empty, so the header goes in one write or not at all.
func sendHeader(fd int, header []byte) error {
	if header == nil {
		return nil
	}
	for {
		n, err := rawWrite(fd, header)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n < len(header):
			return io.ErrShortWrite
		}
		return nil
	}
}

// counters returns the counters a connection of entry e counts into: its
// endpoint's (if any) and its service's (the entry's, else the load balancer's).
func (p *Proxy) counters(e Entry, lb *lbRoute) (*endpointCounters, *counters) {
	serviceID := e.ServiceID
	if serviceID == "" && lb != nil {
		serviceID = lb.serviceID
	}
	var ep *endpointCounters
	var svc *counters
	if e.EndpointID != "" {
		ep = p.stats.endpoint(e.EndpointID, serviceID)
	}
	if serviceID != "" {
		svc = p.stats.service(serviceID)
	}
	return ep, svc
}

// register records an established session and counts it. It fails when the
// proxy is closed or a concurrent Configure removed the route (checked after
// recording, so either the sweep or this check sees it).
func (p *Proxy) register(s *session) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
	if !s.routed(p.table.Load()) {
		p.mu.Lock()
		delete(p.sessions, s)
		p.mu.Unlock()
		return false
	}
	s.each(func(c *counters) {
		c.newConns.Add(1)
		c.active.Add(1)
	})
	return true
}

// unregister forgets an ended session.
func (p *Proxy) unregister(s *session) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
	s.each(func(c *counters) { c.active.Add(-1) })
}

// dialTarget dials the flow's target among the candidates from the node's
// address: the healthy ones first (all of them when none is healthy: fail
// open), then the others, each in the selector's order for this flow. Targets
// in exclude (already tried) are skipped.
func (p *Proxy) dialTarget(lb *lbRoute, node Node, cands []*targetRef, flow uint64, exclude []*targetRef) (int, *targetRef, error) {
	if len(cands) == 0 {
		return -1, nil, errNoTargets
	}
	var refBuf [2][8]*targetRef
	var keyBuf [2][8]uint64
	refs := [2][]*targetRef{refBuf[0][:0], refBuf[1][:0]}
	keys := [2][]uint64{keyBuf[0][:0], keyBuf[1][:0]}
	for _, r := range cands {
		if slices.Contains(exclude, r) {
			continue
		}
		i := 1
		if r.state.code.Load().routable() {
			i = 0
		}
		refs[i] = append(refs[i], r)
		keys[i] = append(keys[i], r.hash)
	}
	var lastErr error
	for i := range refs {
		rs, ks := refs[i], keys[i]
		for len(rs) > 0 {
			j := p.sel.Pick(flow, ks)
			r := rs[j]
			ctx, cancel := context.WithTimeout(p.ctx, p.dialTimeout)
			fd, err := p.opts.Dial(ctx, lb.vpcID, node.IP, r.Addr)
			cancel()
			if err == nil {
				return fd, r, nil
			}
			p.log.Debug("dial to target failed", "target", r.label, "from", node.IP.String(), "error", err)
			lastErr = err
			if p.ctx.Err() != nil {
				return -1, nil, lastErr
			}
			n := len(rs) - 1
			rs[j], ks[j] = rs[n], ks[n]
			rs, ks = rs[:n], ks[:n]
		}
	}
	if lastErr == nil {
		lastErr = errNoTargets
	}
	return -1, nil, lastErr
}

// errNoTargets rejects connections whose listener has no target for the zone.
var errNoTargets = errors.New("no registered target for the zone")
