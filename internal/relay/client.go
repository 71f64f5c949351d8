package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	"strait/internal/agent"
	"strait/internal/dataplane"
)

// ProcessConfig says how to find, or start, the relay process of a data
// directory.
type ProcessConfig struct {
	DataDir string
	// Command starts the relay process when none answers: its argv, e.g.
	// strait relay --data-dir DataDir.
	Command []string
	// Report receives target health as the relay process's checks see it:
	// every target's last state when the client attaches, then changes.
	Report dataplane.HealthReport
	Logger *slog.Logger
}

// callTimeout bounds each call that changes the relay process; queryTimeout
// each that only asks (answered from the client's last answers when it
// fails); healthWait is how long a Health call waits for a change.
const (
	callTimeout  = 30 * time.Second
	queryTimeout = 10 * time.Second
	healthWait   = 20 * time.Second
)

var errRelayDown = errors.New("relay: the relay process does not answer")

// Client drives a relay process (agent.Relay). It keeps what it gave the
// relay — the routing, the listeners and the resolvers — and gives it again
// to a relay process that replaces one that died, before any other call
// reaches the new one; it keeps the last answers the kernel path needs
// (Eligible, Node) and the traffic counters, which it answers while no relay
// process does.
type Client struct {
	cfg    ProcessConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	health    atomic.Pointer[func()]
	onCollect atomic.Pointer[func()]

	// opMu serializes the calls that change the relay process, and a replay
	// to a new one with them. Taken before mu, never held by mu's holders.
	opMu sync.Mutex

	mu        sync.Mutex
	rc        *rpc.Client // nil while no relay process answers
	hello     Hello
	routing   *dataplane.Config                       // the last Configure
	listening map[listenKey]dataplane.Entry           // the listeners opened
	resolvers map[string]ResolverArgs                 // VPC → its resolver, as last set
	eligible  map[NodeArgs]answered[[]netip.AddrPort] // Eligible's last answers
	nodes     map[NodeArgs]answered[NodeReply]        // Node's last answers
	// answersGen counts the changes of routing and target health: answers
	// of an older generation are out of date.
	answersGen uint64
	stats      map[string]dataplane.Stats // EndpointStats' last answers
	// base is the relayed traffic the relay process had counted when this
	// client attached: an earlier server reported it.
	base map[string]dataplane.Stats
}

var _ agent.Relay = (*Client)(nil)

// Attach connects to the relay process of cfg.DataDir, starting one with
// cfg.Command when none answers (or the one that does speaks another
// Protocol, or hangs), and adopts its listeners. Close lets go of it; the
// relay process carries on.
func Attach(ctx context.Context, cfg ProcessConfig) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rc, hello, started, err := connect(ctx, cfg.DataDir, cfg.Command, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if started {
		cfg.Logger.Info("relay process started", "pid", hello.PID)
	} else {
		cfg.Logger.Info("relay process adopted: its listeners, resolvers and connections carry on", "pid", hello.PID, "version", hello.Version)
	}
	var ls []agent.Listening
	base := map[string]dataplane.Stats{}
	err = callWithin(rc, "Listening", false, &ls, callTimeout)
	if err == nil {
		err = callWithin(rc, "RelayedStats", false, &base, callTimeout)
	}
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("relay: adopting its listeners and counters: %w", err)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), rc: rc, hello: hello,
		listening: map[listenKey]dataplane.Entry{}, resolvers: map[string]ResolverArgs{},
		eligible: map[NodeArgs]answered[[]netip.AddrPort]{}, nodes: map[NodeArgs]answered[NodeReply]{},
		stats: map[string]dataplane.Stats{}, base: base}
	c.setListening(ls)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.watch()
	return c, nil
}

// setListening makes ls the listeners the client knows. The caller does not
// hold c.mu.
func (c *Client) setListening(ls []agent.Listening) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.listening)
	for _, l := range ls {
		c.listening[listenKey{l.VPC, l.Addr}] = l.Entry
	}
}

// call calls method on the relay process, waiting up to d.
func (c *Client) call(method string, args, reply any, d time.Duration) error {
	c.mu.Lock()
	rc := c.rc
	c.mu.Unlock()
	if rc == nil {
		return errRelayDown
	}
	return callWithin(rc, method, args, reply, d)
}

// Generation implements agent.Relay: the relay process's ID, new when another
// process replaced it.
func (c *Client) Generation() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hello.ID
}

// Configure implements agent.Relay.
func (c *Client) Configure(cfg dataplane.Config) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	c.routing = &cfg
	clear(c.eligible) // answers of the routing before
	clear(c.nodes)
	c.staleAnswers()
	c.mu.Unlock()
	if err := c.call("Configure", &cfg, new(bool), callTimeout); err != nil {
		c.log.Warn("relay: configuring", "err", err)
	}
}

// Listen implements agent.Relay.
func (c *Client) Listen(vpc string, addrs []netip.AddrPort, entries []dataplane.Entry) ([]error, error) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	var r ListenReply
	if err := c.call("Listen", &ListenArgs{VPC: vpc, Addrs: addrs, Entries: entries}, &r, callTimeout); err != nil {
		return nil, fmt.Errorf("listening in %s: %w", vpc, err)
	}
	if len(r.Errs) != len(addrs) {
		return nil, fmt.Errorf("listening in %s: the relay answered %d results for %d addresses", vpc, len(r.Errs), len(addrs))
	}
	errs := make([]error, len(addrs))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range r.Errs {
		if e != "" {
			errs[i] = errors.New(e)
			continue
		}
		c.listening[listenKey{vpc, addrs[i]}] = entries[i]
	}
	return errs, nil
}

// Unlisten implements agent.Relay. A listener the relay process did not
// close (it did not answer) is still in its Listening, and is closed again
// at the agent's next pass.
func (c *Client) Unlisten(vpc string, addr netip.AddrPort) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	delete(c.listening, listenKey{vpc, addr})
	c.mu.Unlock()
	if err := c.call("Unlisten", &AddrArgs{VPC: vpc, Addr: addr}, new(bool), callTimeout); err != nil {
		c.log.Warn("relay: closing a listener", "vpc", vpc, "addr", addr, "err", err)
	}
}

// ForgetVPC implements agent.Relay.
func (c *Client) ForgetVPC(vpc string) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	for k := range c.listening {
		if k.vpc == vpc {
			delete(c.listening, k)
		}
	}
	delete(c.resolvers, vpc)
	c.mu.Unlock()
	if err := c.call("ForgetVPC", &vpc, new(bool), callTimeout); err != nil {
		c.log.Warn("relay: forgetting a VPC", "vpc", vpc, "err", err)
	}
}

// SetResolver implements agent.Relay.
func (c *Client) SetResolver(vpc string, addr netip.AddrPort, records map[string][]netip.Addr) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	a := ResolverArgs{VPC: vpc, Addr: addr, Records: records}
	if err := c.call("SetResolver", &a, new(bool), callTimeout); err != nil {
		return fmt.Errorf("the resolver of %s: %w", vpc, err)
	}
	c.mu.Lock()
	c.resolvers[vpc] = a
	c.mu.Unlock()
	return nil
}

// Listening implements agent.Relay: the relay process's listeners (which the
// client then knows), or while it does not answer the ones the client knows.
func (c *Client) Listening() []agent.Listening {
	var ls []agent.Listening
	if err := c.call("Listening", false, &ls, queryTimeout); err == nil {
		c.setListening(ls)
		return ls
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]agent.Listening, 0, len(c.listening))
	for k, e := range c.listening {
		out = append(out, agent.Listening{VPC: k.vpc, Addr: k.addr, Entry: e})
	}
	return out
}

// answered is an answer of the relay process and the answers' generation it
// belongs to.
type answered[T any] struct {
	v   T
	gen uint64
}

// ask answers a query from the client's last answers while they are current
// (nothing changed the routing or target health since: the agent asks the
// same on every pass), else from the relay process, else, while it does not
// answer, from the last answer.
func ask[T any](c *Client, cache map[NodeArgs]answered[T], method string, a NodeArgs) T {
	c.mu.Lock()
	last, ok := cache[a]
	gen := c.answersGen
	c.mu.Unlock()
	if ok && last.gen == gen {
		return last.v
	}
	var r T
	if err := c.call(method, &a, &r, queryTimeout); err != nil {
		return last.v
	}
	c.mu.Lock()
	if c.answersGen == gen {
		cache[a] = answered[T]{r, gen}
	}
	c.mu.Unlock()
	return r
}

// staleAnswers makes the last answers out of date. The caller holds c.mu.
func (c *Client) staleAnswers() { c.answersGen++ }

// Eligible implements agent.Relay (see ask).
func (c *Client) Eligible(lb, nodeAZ string, port uint16) []netip.AddrPort {
	return ask(c, c.eligible, "Eligible", NodeArgs{LB: lb, AZ: nodeAZ, Port: port})
}

// Node implements agent.Relay (see ask).
func (c *Client) Node(lb, az string) (dataplane.Node, bool) {
	r := ask(c, c.nodes, "Node", NodeArgs{LB: lb, AZ: az})
	return r.Node, r.OK
}

// OnHealthChange implements agent.Relay: fn runs after each batch of health
// reports.
func (c *Client) OnHealthChange(fn func()) { c.health.Store(&fn) }

// OnCollect implements agent.Relay: fn runs before the relay's metrics are
// scraped (Collector).
func (c *Client) OnCollect(fn func()) { c.onCollect.Store(&fn) }

// EndpointStats implements agent.Relay: each endpoint's traffic less what
// the relay process had relayed when the client attached (an earlier server
// counted that); while no relay process answers, the last answers.
func (c *Client) EndpointStats(ids []string) map[string]dataplane.Stats {
	var r map[string]dataplane.Stats
	err := c.call("EndpointStats", &ids, &r, queryTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]dataplane.Stats, len(ids))
	for _, id := range ids {
		if err != nil {
			out[id] = c.stats[id]
			continue
		}
		s, b := r[id], c.base[id]
		s.NewConnections -= min(b.NewConnections, s.NewConnections)
		s.BytesIn -= min(b.BytesIn, s.BytesIn)
		s.BytesOut -= min(b.BytesOut, s.BytesOut)
		s.Rejected -= min(b.Rejected, s.Rejected)
		c.stats[id], out[id] = s, s
	}
	return out
}

// SetTranslated implements agent.Relay.
func (c *Client) SetTranslated(per map[string]agent.Translated) {
	if err := c.call("SetTranslated", &per, new(bool), queryTimeout); err != nil {
		c.log.Debug("relay: kernel path counters", "err", err)
	}
}

// ForgetEndpoint implements agent.Relay.
func (c *Client) ForgetEndpoint(id string) {
	c.mu.Lock()
	delete(c.stats, id)
	delete(c.base, id)
	c.mu.Unlock()
	if err := c.call("ForgetEndpoint", &id, new(bool), queryTimeout); err != nil {
		c.log.Debug("relay: forgetting an endpoint's counters", "err", err)
	}
}

// Counted implements agent.Relay (nothing while no relay process answers).
func (c *Client) Counted() (endpoints, services []string) {
	var r CountedReply
	if err := c.call("Counted", false, &r, queryTimeout); err != nil {
		c.log.Warn("relay: the endpoints it counts", "err", err)
	}
	return r.Endpoints, r.Services
}

// ForgetService implements agent.Relay.
func (c *Client) ForgetService(id string) {
	if err := c.call("ForgetService", &id, new(bool), queryTimeout); err != nil {
		c.log.Debug("relay: forgetting a service's counters", "err", err)
	}
}

// Close lets go of the relay process, which carries on with its listeners,
// resolvers and connections.
func (c *Client) Close() {
	c.cancel()
	c.mu.Lock()
	rc := c.rc
	c.rc = nil
	c.mu.Unlock()
	if rc != nil {
		rc.Close()
	}
	<-c.done
}
