// Package admission bounds what clients of the API listener can hold before
// and while they are served: connections (a cap, taken from the process's
// descriptor budget) and request bytes (a shared budget for bodies).
//
// At the cap, a new connection evicts the connection that has waited longest
// in its current phase — connected without a request, idle between
// requests, or sending a request — and never one whose request was read
// whole and is being answered. A client that holds connections open without
// finishing requests (slow headers, a body that never comes, idle keep-alive
// connections) thus only ever holds the oldest slots, and a client that sends
// a request promptly is served. The http.Server's own timeouts end such
// connections as well; the cap bounds how many there are until then.
package admission

import (
	"container/list"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/fdbudget"
)

// logInterval is how often evictions and refusals are logged (with counts).
const logInterval = 10 * time.Second

// Config configures a Listener.
type Config struct {
	// Descriptors is the API's share of the process's descriptors: its
	// capacity is the connection cap. Required.
	Descriptors *fdbudget.Pool
	// BodyBytes is the budget shared by request bodies beyond FreeBodyBytes
	// each (0: DefaultBodyBytes).
	BodyBytes int64
	// Logger gets the evictions and refusals, once per interval.
	Logger *slog.Logger
}

// Listener is the API's net.Listener with its admission rules. Give the
// http.Server its ConnState, ConnContext and Handler (wrapping the API's).
type Listener struct {
	net.Listener
	fds  *fdbudget.Pool
	body *bodyBudget
	log  *slog.Logger

	mu    sync.Mutex
	order *list.List // of *conn that may be evicted, longest in its phase first
	open  int

	evicted, refused atomic.Uint64
	lastLog          atomic.Int64 // unix nanoseconds
	flush            atomic.Bool  // a log at the end of the interval is scheduled
	loggedEvicted    atomic.Uint64
	loggedRefused    atomic.Uint64
}

// NewListener wraps ln.
func NewListener(ln net.Listener, cfg Config) *Listener {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyBytes <= 0 {
		cfg.BodyBytes = DefaultBodyBytes
	}
	return &Listener{Listener: ln, fds: cfg.Descriptors, body: &bodyBudget{limit: cfg.BodyBytes}, log: cfg.Logger, order: list.New()}
}

// Cap is the most connections the listener keeps open.
func (l *Listener) Cap() int { return l.fds.Capacity() }

// Accept returns the next connection admitted: at the cap, it evicts the
// connection longest in its phase first; when there is none to evict (every
// connection is being answered) or the process is out of descriptors, it
// closes the new connection at once and accepts the next.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.admit() {
			l.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset: the client retries at once, and no TIME_WAIT here
			}
			c.Close()
			l.logNow()
			continue
		}
		ac := &conn{Conn: c, l: l}
		l.mu.Lock()
		l.open++
		ac.elem = l.order.PushBack(ac)
		l.mu.Unlock()
		return ac, nil
	}
}

// admit takes a descriptor for a new connection, evicting to make room.
func (l *Listener) admit() bool {
	for l.fds == nil || !l.fds.Take(1) {
		if l.fds == nil {
			return true
		}
		l.mu.Lock()
		front := l.order.Front()
		var victim *conn
		if front != nil {
			victim = front.Value.(*conn)
			l.order.Remove(front)
			victim.elem = nil
		}
		l.mu.Unlock()
		if victim == nil {
			return false
		}
		l.evicted.Add(1)
		victim.Close() // gives its descriptor back
		l.logNow()
	}
	return true
}

// ConnState is the http.Server's ConnState hook: a connection that starts a
// phase (new, idle, or reading a request) moves to the back of the eviction
// order.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	ac, ok := c.(*conn)
	if !ok {
		return
	}
	switch s {
	case http.StateNew, http.StateIdle, http.StateActive:
		l.mu.Lock()
		if ac.elem != nil {
			l.order.MoveToBack(ac.elem)
		}
		l.mu.Unlock()
	}
}

type connKey struct{}

// ConnContext is the http.Server's ConnContext hook: requests carry their
// connection, for Handler.
func (l *Listener) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if ac, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, ac)
	}
	return ctx
}

// Handler wraps the API's handler: a request's body draws on the shared body
// budget beyond FreeBodyBytes, and once it is read whole (or has none) the
// connection cannot be evicted until the answer is written.
func (l *Listener) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ac, _ := r.Context().Value(connKey{}).(*conn)
		body := &budgetedBody{ReadCloser: r.Body, budget: l.body}
		defer body.release()
		if r.Body == nil || r.Body == http.NoBody {
			l.answering(ac, true)
		} else {
			body.onEOF = func() { l.answering(ac, true) }
			r.Body = body
		}
		defer l.answering(ac, false)
		h.ServeHTTP(w, r)
	})
}

// answering takes a connection out of the eviction order while its request
// is answered (on), and puts it back at the end (off).
func (l *Listener) answering(ac *conn, on bool) {
	if ac == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case ac.closed:
	case on && ac.elem != nil:
		l.order.Remove(ac.elem)
		ac.elem = nil
	case !on && ac.elem == nil:
		ac.elem = l.order.PushBack(ac)
	}
}

// logNow logs the evictions and refusals since the last log: at once if the
// last log is logInterval old, else when the interval ends.
func (l *Listener) logNow() {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last >= int64(logInterval) && l.lastLog.CompareAndSwap(last, now) {
		l.logCounts(time.Duration(now - last))
		return
	}
	if l.flush.CompareAndSwap(false, true) {
		time.AfterFunc(time.Duration(last+int64(logInterval)-now), func() {
			l.lastLog.Store(time.Now().UnixNano())
			l.flush.Store(false)
			l.logCounts(logInterval)
		})
	}
}

// logCounts logs the evictions and refusals since the last log, if any.
func (l *Listener) logCounts(since time.Duration) {
	ev, rf := l.evicted.Load(), l.refused.Load()
	dev, drf := ev-l.loggedEvicted.Swap(ev), rf-l.loggedRefused.Swap(rf)
	if dev == 0 && drf == 0 {
		return
	}
	l.log.Warn("API connections at their cap: evicted the longest waiting, refused those with none to evict",
		"cap", l.Cap(), "evicted", dev, "refused", drf, "within", since.Round(time.Second))
}

// conn is an admitted connection.
type conn struct {
	net.Conn
	l      *Listener
	elem   *list.Element // in l.order; nil while answered or closed (under l.mu)
	closed bool          // under l.mu
	once   sync.Once
}

// Close closes the connection and gives its descriptor back (once).
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		c.closed = true
		if c.elem != nil {
			l.order.Remove(c.elem)
			c.elem = nil
		}
		l.open--
		l.mu.Unlock()
		if l.fds != nil {
			l.fds.Give(1)
		}
	})
	return err
}

// Open is the number of connections admitted and not closed.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Collectors returns the listener's Prometheus metrics.
func (l *Listener) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "strait", Subsystem: "api", Name: "open_connections",
			Help: "Connections to the API listener admitted and open."}, func() float64 { return float64(l.Open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "strait", Subsystem: "api", Name: "connection_cap",
			Help: "The most connections the API listener keeps open."}, func() float64 { return float64(l.Cap()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "strait", Subsystem: "api", Name: "evicted_connections_total",
			Help: "API connections closed at the cap to admit a new one: the longest waiting in their phase (no request, idle, or a request still arriving)."},
			func() float64 { return float64(l.evicted.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "strait", Subsystem: "api", Name: "refused_connections_total",
			Help: "API connections reset at once: at the cap with every connection being answered, or the process out of descriptors."},
			func() float64 { return float64(l.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "strait", Subsystem: "api", Name: "refused_body_bytes_total",
			Help: "Requests whose body found the shared body budget spent (answered 503 ServiceUnavailable)."},
			func() float64 { return float64(l.body.refused.Load()) }),
	}
}

var _ io.ReadCloser = (*budgetedBody)(nil)
