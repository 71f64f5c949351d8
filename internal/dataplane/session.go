package dataplane

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// session is one relayed connection: client ↔ target.
type session struct {
	p      *Proxy
	client net.Conn
	lis    *listenerRoute // the route the connection took
	ep     *endpointCounters
	svc    *counters
	idle   int64 // idle timeout, ns

	target atomic.Pointer[net.TCPConn] // replaced only before the first byte (retarget)
	ref    atomic.Pointer[targetRef]   // the target it reached

	last    atomic.Int64 // last byte moved either way, ns since p.epoch
	running atomic.Int32 // directions still running
	closed  atomic.Bool
	once    sync.Once

	mu        sync.Mutex // orders the first write to the target against retarget
	committed bool       // a byte or FIN went to the target: the target is final
	retry     *retryInfo // until committed: how to reach another target

	up, down pump // client → target, target → client
}

// retryInfo is what a session needs to dial another target if the first one
// resets the connection before any byte moved. It is dropped once the
// connection is committed to its target.
type retryInfo struct {
	node   Node
	flow   uint64
	header []byte // PROXY v2 header; nil without
	tried  []*targetRef
}

// routed reports whether table t still routes the session's connection.
func (s *session) routed(t *table) bool {
	return t.has(s.lis.lb.arn, s.lis.port, s.lis.group.arn, s.ref.Load().key)
}

// start relays the session: it sets the idle deadlines and starts one goroutine
// per direction. The last direction to end closes the session.
func (s *session) start() {
	s.last.Store(s.p.clock())
	target := s.target.Load()
	deadline := time.Now().Add(time.Duration(s.idle))
	s.client.SetDeadline(deadline)
	target.SetDeadline(deadline)

	// The client → target direction gets its destination when it commits.
	s.up = pump{s: s, srcConn: s.client}
	s.down = pump{s: s, down: true, dstConn: s.client}
	if s.ep != nil {
		s.up.count[0], s.down.count[0] = &s.ep.bytesIn, &s.ep.bytesOut
	}
	if s.svc != nil {
		s.up.count[1], s.down.count[1] = &s.svc.bytesIn, &s.svc.bytesOut
	}
	if c, ok := s.client.(*net.TCPConn); ok {
		if raw, err := c.SyscallConn(); err == nil {
			s.up.splicing, s.down.splicing = true, true
			s.up.src, s.down.dst = raw, raw
		}
	}
	s.down.setSource(target)
	s.running.Store(2)
	s.p.wg.Add(2)
	go s.up.run()
	go s.down.run()
}

// commit makes the current target final (the first byte or FIN is about to go
// to it) and returns it.
func (s *session) commit() *net.TCPConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed, s.retry = true, nil
	return s.target.Load()
}

// dropRetry frees the retry state once the target can no longer change.
func (s *session) dropRetry() {
	s.mu.Lock()
	s.retry = nil
	s.mu.Unlock()
}

// retarget replaces a target that reset the connection before the client sent
// anything to it (nothing was relayed either way, so the client cannot tell)
// with the flow's next candidate, as a failed dial would. It reports whether a
// new target is in place.
func (s *session) retarget() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.retry
	if s.committed || r == nil || s.closed.Load() {
		return false
	}
	old := s.ref.Load()
	r.tried = append(r.tried, old)
	s.p.log.Debug("target reset the connection before any byte; trying another", "target", old.label)
	conn, ref, err := s.p.dialTarget(s.lis.lb, r.node, s.lis.byZone[r.node.AZ], r.flow, r.tried)
	if err != nil {
		return false
	}
	if err := s.p.sendHeader(conn, r.header); err != nil {
		conn.Close()
		return false
	}
	conn.SetDeadline(time.Now().Add(time.Duration(s.idle)))
	s.ref.Store(ref)
	s.target.Swap(conn).Close()
	if s.closed.Load() {
		// close ran between the swap and here, or before: it may have missed conn.
		conn.Close()
		return false
	}
	return s.routed(s.p.table.Load())
}

// close closes both sides; the directions see it and end.
func (s *session) close() {
	s.once.Do(func() {
		s.closed.Store(true)
		s.client.Close()
		s.target.Load().Close()
	})
}

// each calls f with the session's endpoint and service counters, if any.
func (s *session) each(f func(*counters)) {
	if s.ep != nil {
		f(&s.ep.counters)
	}
	if s.svc != nil {
		f(s.svc)
	}
}
