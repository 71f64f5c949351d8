package dns

import (
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// Server is one VPC's resolver. It answers only the records it was given and
// never forwards a query, so nothing outside the VPC's own names resolves.
type Server struct {
	log        *slog.Logger
	table      atomic.Pointer[table]
	generation atomic.Uint32

	mu      sync.Mutex
	closed  bool
	running map[*mdns.Server]bool
}

// New returns a resolver with no records: every name is NXDOMAIN until
// SetRecords is called.
func New(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log, running: map[*mdns.Server]bool{}}
	s.table.Store(newTable(nil, s.generation.Add(1), log))
	return s
}

// SetRecords replaces every record at once: records maps a lower-case, fully
// qualified name (trailing dot) to its IPv4 addresses. Queries in flight see
// either the old or the new set, never a mix. Names are lower-cased and
// qualified if they are not already; other addresses than IPv4 are dropped.
// The server keeps records to compare the next call with (its cost follows the
// names that changed): the caller must not change the map or its slices
// afterwards.
func (s *Server) SetRecords(records map[string][]netip.Addr) {
	serial := s.generation.Add(1)
	if t, ok := s.table.Load().update(records, serial, s.log); ok {
		s.table.Store(t)
		return
	}
	s.table.Store(newTable(records, serial, s.log))
}

// Serve answers queries over UDP on pc and over TCP on ln (either may be nil,
// not both) until Close. It takes ownership of both: they are closed when it
// returns. It returns nil after Close, net.ErrClosed when the server was already
// closed, or the error that stopped one of them (the other is then stopped too).
func (s *Server) Serve(pc net.PacketConn, ln net.Listener) error {
	var servers []*mdns.Server
	if pc != nil {
		servers = append(servers, &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.serveDNS)})
	}
	if ln != nil {
		servers = append(servers, &mdns.Server{Listener: ln, Handler: mdns.HandlerFunc(s.serveDNS)})
	}
	if len(servers) == 0 {
		return errors.New("dns: Serve needs a packet connection or a listener")
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		closeAll(pc, ln)
		return net.ErrClosed
	}

	done := make(chan error, len(servers))
	ready := make([]chan struct{}, len(servers))
	for i, srv := range servers {
		ready[i] = make(chan struct{})
		var once sync.Once
		signal := func() { once.Do(func() { close(ready[i]) }) }
		srv.NotifyStartedFunc = signal
		go func() {
			err := srv.ActivateAndServe()
			signal()
			done <- err
		}()
	}
	// Each server is running, or has already failed, before Close may stop it.
	for _, r := range ready {
		<-r
	}
	s.mu.Lock()
	closed = s.closed
	for _, srv := range servers {
		s.running[srv] = true
	}
	s.mu.Unlock()
	if closed {
		shutdown(servers)
	}
	var first error
	for range servers {
		if err := <-done; err != nil && first == nil {
			first = err
			shutdown(servers) // one side failed: stop the other
		}
	}
	s.mu.Lock()
	for _, srv := range servers {
		delete(s.running, srv)
	}
	s.mu.Unlock()
	closeAll(pc, ln)
	return first
}

// Close stops every Serve call, waiting for the queries in flight. Further Serve
// calls fail with net.ErrClosed.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	servers := slices.Collect(maps.Keys(s.running))
	s.mu.Unlock()
	shutdown(servers)
	return nil
}

// shutdown stops servers and waits for their queries in flight. Shutting down a
// server that is not running (it failed to start, or stopped already) does
// nothing, which is the only error Shutdown reports without a deadline.
func shutdown(servers []*mdns.Server) {
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
}

func closeAll(pc net.PacketConn, ln net.Listener) {
	if pc != nil {
		_ = pc.Close()
	}
	if ln != nil {
		_ = ln.Close()
	}
}
