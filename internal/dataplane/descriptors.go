package dataplane

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// A process that runs out of descriptors fails wherever it next opens one: in
// the store, which then stops the process, in a relay, which then breaks an
// established connection. The data plane therefore takes the descriptors of a
// connection from its share (Options.Descriptors) when it accepts it, and
// refuses the connection — a reset right after the handshake, which the
// client sees as "connection reset by peer" on its first read or write — when
// the share is spent. The connections already relayed keep their
// descriptors and carry on.

// refusalLogInterval is how often refusals are logged (with their count).
const refusalLogInterval = 10 * time.Second

// takeFDs takes n descriptors from the share (always, without one).
func (p *Proxy) takeFDs(n int) bool {
	return p.opts.Descriptors == nil || p.opts.Descriptors.Take(n)
}

// giveFDs gives n descriptors back to the share.
func (p *Proxy) giveFDs(n int) {
	if p.opts.Descriptors != nil {
		p.opts.Descriptors.Give(n)
	}
}

// refuse resets a connection just accepted from client on entry e for want of
// descriptors, and counts it (for its endpoint and service too).
func (p *Proxy) refuse(fd int, client netip.AddrPort, e Entry) {
	c := &incoming{p: p, client: client, e: e}
	c.ep, c.svc = p.counters(e, p.table.Load().lbs[e.LoadBalancer])
	c.countRejected()
	p.refused.add(p.log, client, e)
	resetClose(fd) // after counting: whoever sees the reset sees it counted
}

// resetClose closes a socket with a reset instead of a FIN.
func resetClose(fd int) {
	rawResetOnClose(fd)
	rawClose(fd)
}

// refusals counts the connections refused for want of descriptors and logs
// them at most once per refusalLogInterval: the first at once, those that
// follow within the interval together when it ends.
type refusals struct {
	every   time.Duration // 0: refusalLogInterval
	total   atomic.Uint64
	logged  atomic.Uint64 // total at the last log
	lastLog atomic.Int64  // unix nanoseconds
	flush   atomic.Bool   // a log of the refusals within the interval is scheduled
}

// add counts a refusal and logs it, or schedules the log at the end of the
// interval.
func (r *refusals) add(log *slog.Logger, client netip.AddrPort, e Entry) {
	r.total.Add(1)
	every := r.every
	if every == 0 {
		every = refusalLogInterval
	}
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last >= int64(every) && r.lastLog.CompareAndSwap(last, now) {
		r.log(log, client, e)
		return
	}
	if r.flush.CompareAndSwap(false, true) {
		time.AfterFunc(time.Duration(last+int64(every)-now), func() {
			r.lastLog.Store(time.Now().UnixNano())
			r.flush.Store(false)
			r.log(log, client, e)
		})
	}
}

// log logs the refusals since the last log, if any.
func (r *refusals) log(log *slog.Logger, client netip.AddrPort, e Entry) {
	total := r.total.Load()
	since := total - r.logged.Swap(total)
	if since == 0 {
		return
	}
	log.Warn("connections refused: the data plane's share of descriptors is spent (open-file limit); established connections carry on",
		"refused", since, "refused_total", total, "first_client", client.String(), "first_endpoint", e.EndpointID, "first_load_balancer", e.LoadBalancer)
}

// LimitListener returns ln with each accepted connection taking a descriptor
// from the data plane's share (given back when it is closed) and reset at
// once when the share is spent (counted and logged as the proxy's refusals).
// The agent serves each VPC's DNS resolver over TCP through it: clients in a
// VPC reach the resolver as they reach endpoints, and must not spend the
// descriptors the store needs either.
func (p *Proxy) LimitListener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, p: p}
}

type limitListener struct {
	net.Listener
	p *Proxy
}

// Accept returns the next connection the share covers.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.p.takeFDs(1) {
			return &limitConn{Conn: c, p: l.p}, nil
		}
		client, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		l.p.refused.add(l.p.log, client, Entry{})
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// limitConn gives its descriptor back once closed.
type limitConn struct {
	net.Conn
	p    *Proxy
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.p.giveFDs(1) })
	return err
}
