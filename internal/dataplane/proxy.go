package dataplane

import (
	"context"
	"errors"
	"fmt"
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

	"strait/internal/model"
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
	// Clock is the monotonic time since the proxy started, by which idle
	// timeouts are measured (nil: the real clock). Tests drive it to reach an
	// idle timeout without depending on the machine's speed.
	Clock func() time.Duration
	// Descriptors is the data plane's share of the process's descriptors
	// (nil: no limit): each relayed connection takes two (its client's and
	// its target's socket) and a third while its handshake with the target is
	// waited for. A connection the share cannot cover is refused with a reset
	// right after accept, counted and logged once per interval, and the
	// connections already relayed carry on.
	Descriptors Descriptors
	// TransitPeers holds the addresses connections to transit listeners
	// (Entry.Transit) may come from: other hosts' own transit addresses,
	// which their transit namespaces translate relayed connections to and
	// which no VPC of this host can send from (the zero Prefix:
	// model.TransitFixed). A connection from elsewhere (a flow translated on
	// this host, caught at the transit address while the kernel path gives
	// the port over to the relay) is closed like one without a header.
	TransitPeers netip.Prefix
}

// Descriptors hands out descriptors (fdbudget.Pool).
type Descriptors interface {
	Take(n int) bool
	Give(n int)
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

	onCollect atomic.Pointer[func()] // OnCollect's

	healthChanged chan struct{}  // HealthChanged's, capacity 1
	wg            sync.WaitGroup // connection goroutines and relayed directions not ended

	relays *relays // reactors, session registry, idle scan

	refused    refusals   // connections refused for want of descriptors
	badHeaders badHeaders // connections from the transit link without a valid header
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
	if !p.opts.TransitPeers.IsValid() {
		p.opts.TransitPeers = model.TransitFixed
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
func (p *Proxy) clock() int64 {
	if p.opts.Clock != nil {
		return int64(p.opts.Clock())
	}
	return int64(time.Since(p.epoch))
}

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
		err := l.accept(func(fd int, client, local netip.AddrPort, more bool) {
			backoff = 0
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				unix.Close(fd)
				return
			}
			if !p.takeFDs(2) {
				p.mu.Unlock()
				p.refuse(fd, client, e)
				return
			}
			p.wg.Add(1)
			p.mu.Unlock()
			if more {
				// Others are queued: route and dial this one in parallel.
				go p.handle(fd, client, local, e)
				return
			}
			p.handle(fd, client, local, e)
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
// from client to local, dials its target and starts the relay. It usually
// runs on the accepting goroutine (when no other connection is queued), so it
// never waits: a handshake still in flight is waited for on a new goroutine
// (connectLater). It ends the connection's turn in p.wg.
func (p *Proxy) handle(cfd int, client, local netip.AddrPort, e Entry) {
	t := p.table.Load()
	c := &incoming{p: p, cfd: cfd, client: client, e: e}
	c.ep, c.svc = p.counters(e, t.lbs[e.LoadBalancer])
	switch {
	case e.Remote.IsSet():
		c.toRemote(local)
	case e.Transit:
		c.fromTransit()
	default:
		c.toNode(t, local, e.EndpointID)
	}
}

// toNode routes the connection by table t to its load balancer's node in
// its zone and that node's target for the flow from c.client to local (the
// endpoint ENI or node address it arrived at, for endpoint endpointID), with
// the target's PROXY v2 header when its group asks for one.
func (c *incoming) toNode(t *table, local netip.AddrPort, endpointID string) {
	p, e, client := c.p, c.e, c.client
	lb := t.lbs[e.LoadBalancer]
	if lb == nil {
		c.reject("no such load balancer")
		return
	}
	lis := lb.listeners[e.Port]
	if lis == nil || lis.group == nil {
		c.reject("no listener or target group on the port")
		return
	}
	node, ok := lb.node(e.AZ)
	if !ok {
		c.reject("load balancer has no node")
		return
	}
	c.lis = lis
	c.route = route{lb: lb, node: node, cands: lis.byZone[node.AZ], flow: flowHash(client, local)}
	if lis.group.proxyV2 {
		h, err := AppendProxyHeaderV2(make([]byte, 0, MaxProxyHeaderV2Len(len(endpointID))), client, local, endpointID)
		if err != nil {
			c.reject("PROXY v2 header", "error", err)
			return
		}
		// Splicing, the header goes out with the client's first bytes (see
		// route.holdHeader); the fallback's copy does not push a held header.
		c.header, c.holdHeader = h, len(p.relays.pairs) > 0
	}
	fd, ref, pending, err := p.dialReady(&c.route, -1, nil, false)
	switch {
	case err != nil:
		c.reject("no target reachable", "error", err)
	case pending:
		// Waiting for the handshake holds a duplicate of the target's socket.
		if !p.takeFDs(1) {
			unix.Close(fd)
			c.refuse()
			return
		}
		go c.connectLater(fd, ref)
	default:
		c.start(fd, ref)
	}
}

// incoming is a client connection being routed and connected to its target.
type incoming struct {
	p      *Proxy
	cfd    int // the client's socket, owned until start
	client netip.AddrPort
	e      Entry
	ep     *endpointCounters
	svc    *counters
	lis    *listenerRoute
	remote bool // to a node on another host (Entry.Remote): no other target to retry
	route
}

// route is how a connection reaches its targets: the load balancer, its node
// in the client's zone, the candidate targets from that node, the flow hash
// that orders them, the PROXY v2 header to send first (nil without) and the
// targets tried already.
//
// With holdHeader, the header is sent with MSG_MORE: TCP holds it back, and
// the client → target direction's first write carries it in one segment with
// the client's first bytes if they have arrived by then (one segment and one
// wake-up of the target less per connection). If the client has nothing to
// send yet, the direction pushes the header before it waits
// (pump.pushHeader): servers that speak first, as databases do, read the
// header before they greet.
type route struct {
	lb         *lbRoute
	node       Node
	cands      []*targetRef
	flow       uint64
	header     []byte
	holdHeader bool
	tried      []*targetRef
}

// reject closes the client connection and counts it as rejected, logging why,
// gives its descriptors back and ends its turn in p.wg.
func (c *incoming) reject(msg string, args ...any) {
	defer c.p.wg.Done()
	defer c.p.giveFDs(2)
	if c.cfd >= 0 {
		unix.Close(c.cfd)
	}
	c.countRejected()
	e := c.e
	c.p.log.Warn("connection rejected: "+msg, append(args, "client", c.client.String(), "endpoint", e.EndpointID, "load_balancer", e.LoadBalancer, "port", e.Port)...)
}

// close closes the client connection quietly, counting nothing, gives its
// descriptors back and ends its turn in p.wg (the caller counted and logged).
func (c *incoming) close() {
	defer c.p.wg.Done()
	defer c.p.giveFDs(2)
	if c.cfd >= 0 {
		unix.Close(c.cfd)
		c.cfd = -1
	}
}

// countRejected counts the connection as rejected for its endpoint and service.
func (c *incoming) countRejected() {
	if c.ep != nil {
		c.ep.rejected.Add(1)
	}
	if c.svc != nil {
		c.svc.rejected.Add(1)
	}
}

// refuse resets the client connection for want of descriptors, like
// Proxy.refuse, gives its descriptors back and ends its turn in p.wg.
func (c *incoming) refuse() {
	defer c.p.wg.Done()
	defer c.p.giveFDs(2)
	c.countRejected()
	c.p.refused.add(c.p.log, c.client, c.e)
	resetClose(c.cfd)
	c.cfd = -1
}

// connectLater waits for the handshake of fd with target ref (dialling the
// next candidates if it fails) and starts the relay.
func (c *incoming) connectLater(fd int, ref *targetRef) {
	fd, ref, _, err := c.p.dialReady(&c.route, fd, ref, true)
	c.p.giveFDs(1) // the handshake's duplicate is closed
	if err != nil {
		c.reject("no target reachable", "error", err)
		return
	}
	c.start(fd, ref)
}

// start relays the client connection to target socket tfd (of target ref),
// which it owns, and ends the connection's turn in p.wg.
func (c *incoming) start(tfd int, ref *targetRef) {
	p := c.p
	s := &session{p: p, lis: c.lis, ep: c.ep, svc: c.svc, idle: int64(c.lis.idle), retry: &c.route, remote: c.remote}
	if c.remote {
		s.retry = nil
	}
	s.ref.Store(ref)
	cfd := c.cfd
	c.cfd = -1
	if err := s.prepare(cfd, tfd); err != nil { // it owns both sockets from here, also on error
		c.reject("relay setup", "error", err)
		return
	}
	if !p.register(s) {
		s.abort()
		c.reject("target left the configuration")
		return
	}
	// The header held back (only set with one) is the first write's to send.
	s.up.corked = c.holdHeader
	s.start() // counts its directions in p.wg before this turn ends
	p.wg.Done()
}

// dialReady returns a socket connected to the flow's target (ref) with the
// PROXY v2 header sent: it dials the candidates in the flow's order, skipping
// the ones in r.tried, and adds each that fails to r.tried. fd, if not -1, is
// a socket whose handshake with target ref is in flight, waited for first.
// Unless wait, it does not wait for a handshake: it returns a socket whose
// handshake is in flight with pending true instead.
func (p *Proxy) dialReady(r *route, fd int, ref *targetRef, wait bool) (_ int, _ *targetRef, pending bool, _ error) {
	var failed error // why the last target tried here failed
	for {
		done := false
		if fd < 0 {
			var err error
			if fd, ref, done, err = p.dialTarget(r.lb, r.node, r.cands, r.flow, r.tried); err != nil {
				if failed != nil && errors.Is(err, errNoTargets) {
					// Every candidate was tried: say why the last one failed.
					err = fmt.Errorf("%d target(s) tried: %w", len(r.tried), failed)
				}
				return -1, nil, false, err
			}
		}
		if !done {
			if !wait {
				return fd, ref, true, nil
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.dialTimeout)
			err := AwaitConnect(ctx, fd)
			cancel()
			if err != nil {
				p.log.Debug("dial to target failed", "target", ref.label, "from", r.node.IP.String(), "error", err)
				failed = fmt.Errorf("dial %s from %s: %w", ref.label, r.node.IP, err)
				unix.Close(fd)
				fd, r.tried = -1, append(r.tried, ref)
				if p.ctx.Err() != nil {
					return -1, nil, false, err
				}
				continue
			}
		}
		if err := sendHeader(fd, r.header, r.holdHeader); err != nil {
			p.log.Debug("PROXY v2 header not sent", "target", ref.label, "error", err)
			failed = fmt.Errorf("PROXY v2 header to %s: %w", ref.label, err)
			unix.Close(fd)
			fd, r.tried = -1, append(r.tried, ref)
			continue
		}
		return fd, ref, false, nil
	}
}

// sendHeader writes a PROXY v2 header (if any) to a new target connection,
// held back with MSG_MORE if hold (see route). The socket's send buffer is
// empty, so the header goes in one write or not at all.
func sendHeader(fd int, header []byte, hold bool) error {
	if header == nil {
		return nil
	}
	write := rawWrite
	if hold {
		write = rawSendMore
	}
	for {
		n, err := write(fd, header)
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
	if e.Transit {
		return nil, nil // the endpoint's host counts relayed connections
	}
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

// dialTarget starts dialling the flow's target among the candidates from the
// node's address: the healthy ones first (all of them when none is healthy:
// fail open), then the others, each in the selector's order for this flow.
// Targets in exclude (already tried) are skipped, and so are the ones a dial
// fails at once for. done reports whether the handshake is over.
func (p *Proxy) dialTarget(lb *lbRoute, node Node, cands []*targetRef, flow uint64, exclude []*targetRef) (fd int, ref *targetRef, done bool, err error) {
	if len(cands) == 0 {
		return -1, nil, false, errNoTargets
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
			fd, done, err := p.opts.Dial(lb.vpcID, node.IP, r.Addr)
			if err == nil {
				return fd, r, done, nil
			}
			p.log.Debug("dial to target failed", "target", r.label, "from", node.IP.String(), "error", err)
			lastErr = err
			n := len(rs) - 1
			rs[j], ks[j] = rs[n], ks[n]
			rs, ks = rs[:n], ks[:n]
		}
	}
	if lastErr == nil {
		lastErr = errNoTargets
	}
	return -1, nil, false, lastErr
}

// errNoTargets rejects connections whose listener has no target for the zone.
var errNoTargets = errors.New("no registered target for the zone")
