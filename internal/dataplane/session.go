package dataplane

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// session is one relayed connection: client ↔ target.
type session struct {
	p      *Proxy
	client net.Conn // the fallback's client connection; nil when splicing
	lis    *listenerRoute
	ep     *endpointCounters
	svc    *counters
	idle   int64 // idle timeout, ns
	// remote: to a load balancer node on another host (Entry.Remote), which
	// this proxy's configuration does not have; only its ends close it.
	remote bool

	// The fallback's target connection (nil when splicing), replaced only before
	// the first byte (retarget).
	target atomic.Pointer[net.TCPConn]
	ref    atomic.Pointer[targetRef] // the target it reached

	// When splicing (set by prepare, then fixed), the session owns the client's
	// and the target's socket descriptors; tfd is replaced only by retarget,
	// under mu. They are closed by release, after both directions ended.
	splicing bool
	cfd, tfd int
	id       uint64       // key in the relay registry
	reactors *reactorPair // splicing: where the directions wait

	last    atomic.Int64 // last byte moved either way, ns since p.epoch
	running atomic.Int32 // directions not ended yet
	closed  atomic.Bool

	mu        sync.Mutex // orders the first write to the target against retarget
	committed bool       // a byte or FIN went to the target: the target is final
	retry     *route     // until committed: how to reach another target

	up, down pump // client → target, target → client
}

// idleTimeout is the idle timeout of the session's listener in table t (ns), or
// the one it started with when t no longer has the listener.
func (s *session) idleTimeout(t *table) int64 {
	if r := t.lbs[s.lis.lb.arn]; r != nil {
		if l := r.listeners[s.lis.port]; l != nil {
			return int64(l.idle)
		}
	}
	return s.idle
}

// routed reports whether table t still routes the session's connection.
func (s *session) routed(t *table) bool {
	if s.remote {
		return true
	}
	return t.has(s.lis.lb.arn, s.lis.port, s.lis.group.arn, s.ref.Load().key)
}

// prepare sets the relay up, with cfd the client's socket and tfd the
// target's, before the session is visible to other goroutines; the session
// owns both sockets from then on, also when prepare fails. With the reactors
// running, the session relays the two descriptors event-driven; otherwise it
// makes connections of both for the fallback.
func (s *session) prepare(cfd, tfd int) error {
	s.up = pump{s: s}
	s.down = pump{s: s, down: true, hasDst: true}
	if s.ep != nil {
		s.up.count[0], s.down.count[0] = &s.ep.bytesIn, &s.ep.bytesOut
	}
	if s.svc != nil {
		s.up.count[1], s.down.count[1] = &s.svc.bytesIn, &s.svc.bytesOut
	}
	if len(s.p.relays.pairs) > 0 {
		s.splicing, s.cfd, s.tfd = true, cfd, tfd
		s.up.src, s.down.src, s.down.dst = cfd, tfd, cfd
		return nil
	}
	c, err := SocketConn(cfd)
	if err != nil {
		unix.Close(tfd)
		return err
	}
	t, err := SocketConn(tfd)
	if err != nil {
		c.Close()
		return err
	}
	s.client = c
	s.target.Store(t)
	s.up.srcConn = s.client
	s.down.srcConn, s.down.dstConn = t, s.client
	return nil
}

// SocketConn turns a connected TCP socket descriptor (as a Dialer returns it)
// into a *net.TCPConn, which takes it over (also on error).
func SocketConn(fd int) (*net.TCPConn, error) {
	f := os.NewFile(uintptr(fd), "tcp")
	defer f.Close()
	c, err := net.FileConn(f) // a duplicate; f's descriptor is closed on return
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// start relays the prepared session. Splicing, it registers both sources in
// the readability reactor; the target → client direction parks (the target
// usually has not spoken yet; the registration reports at once if it has) and
// the client → target direction runs on the calling goroutine, the
// accepting one, as on a reactor's (the client usually spoke already; a turn
// that used its budget goes on on a new goroutine). The fallback starts one
// goroutine per direction.
// The last direction to end releases the session.
func (s *session) start() {
	s.last.Store(s.p.clock())
	s.p.relays.add(s)
	s.running.Store(2)
	s.p.wg.Add(2)
	if !s.splicing {
		go s.up.runCopy()
		go s.down.runCopy()
		return
	}
	// Both sources are registered while their directions count as running:
	// an edge from then on marks them pending.
	s.up.state.Store(pumpRunning)
	s.down.state.Store(pumpRunning)
	for _, d := range []*pump{&s.up, &s.down} {
		if err := s.reactors.rx.add(d.src, unix.EPOLLIN|unix.EPOLLRDHUP, d.key); err != nil {
			s.close()
			s.up.end(err)
			s.down.end(err)
			return
		}
		d.srcReg = true
	}
	if !s.down.park() {
		go s.down.run(false)
	}
	// Inline: the caller is the accepting goroutine, which must not block.
	if s.up.run(true) {
		go func() {
			for s.up.resume() {
			}
		}()
	}
}

// commit makes the current target final (the first byte or FIN is about to go
// to it) and gives it to d, the client → target direction, as destination.
func (s *session) commit(d *pump) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked(d)
}

// tryCommit commits like commit unless a retarget holds s.mu (while it
// dials): it reports whether d has its destination now.
func (s *session) tryCommit(d *pump) bool {
	if !s.mu.TryLock() {
		return false
	}
	defer s.mu.Unlock()
	s.commitLocked(d)
	return true
}

func (s *session) commitLocked(d *pump) {
	s.committed, s.retry = true, nil
	if s.splicing {
		d.dst = s.tfd
	} else {
		d.dstConn = s.target.Load()
	}
	d.hasDst = true
}

// dropRetry frees the retry state once the target can no longer change.
func (s *session) dropRetry() {
	s.mu.Lock()
	s.retry = nil
	s.mu.Unlock()
}

// retarget replaces a target that reset the connection before the client sent
// anything to it (nothing was relayed either way, so the client cannot tell)
// with the flow's next candidate, as a failed dial would. It runs on the
// target → client direction's goroutine and reports whether a new target is in
// place.
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
	r.holdHeader = false // the client → target direction may be waiting already
	fd, ref, _, err := s.p.dialReady(r, -1, nil, true)
	if err != nil {
		return false
	}
	if s.splicing {
		d, rx := &s.down, s.reactors.rx
		if err := rx.add(fd, unix.EPOLLIN|unix.EPOLLRDHUP, d.key); err != nil {
			unix.Close(fd)
			return false
		}
		rawClose(s.tfd) // which also ends its registrations
		s.tfd, d.src, d.srcReg = fd, fd, true
		s.ref.Store(ref)
		return s.routed(s.p.table.Load())
	}
	conn, err := SocketConn(fd)
	if err != nil {
		return false
	}
	s.ref.Store(ref)
	s.target.Swap(conn).Close()
	if s.closed.Load() {
		// close ran between the swap and here, or before: it may have missed conn.
		conn.Close()
		return false
	}
	s.down.srcConn = conn
	return s.routed(s.p.table.Load())
}

// closeWrite half-closes d's destination (EOF from its source).
func (s *session) closeWrite(d *pump) error {
	if s.splicing {
		return rawShutdown(d.dst, unix.SHUT_WR)
	}
	if cw, ok := d.dstConn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// resetOnClose makes closing d's destination send a reset: d's source reset
// the connection. The client → target direction may have no destination yet:
// then it is the current target.
func (s *session) resetOnClose(d *pump) {
	if s.splicing {
		fd := d.dst // final once known: retarget runs only before the commit
		if !d.hasDst {
			s.mu.Lock() // retarget may replace tfd
			defer s.mu.Unlock()
			fd = s.tfd
		}
		rawResetOnClose(fd)
		return
	}
	var c net.Conn = s.target.Load()
	if d.down {
		c = s.client
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

// close ends the session; any goroutine may call it. Splicing, it only wakes
// the parked directions, which see the session closed and end (running ones
// see it at their next step), and the last one releases the descriptors; the
// fallback's connections are closed at once, which ends its directions.
func (s *session) close() {
	if s.closed.Swap(true) {
		return
	}
	if s.splicing {
		s.up.wake(false, 0)
		s.down.wake(false, 0)
		return
	}
	s.client.Close()
	s.target.Load().Close()
}

// release runs once both directions ended: it forgets the session, then
// closes its descriptors, which also ends their reactor registrations (the
// session owns the only descriptor of each socket; a late event that was
// already collected carries the forgotten id and is ignored).
func (s *session) release() {
	s.p.relays.remove(s)
	if s.splicing {
		s.closed.Store(true)
		rawClose(s.cfd)
		rawClose(s.tfd)
	} else {
		s.close()
	}
	s.p.unregister(s)
	s.p.giveFDs(2)
}

// abort closes a prepared session that was never started.
func (s *session) abort() {
	s.closed.Store(true)
	if s.splicing {
		rawClose(s.cfd)
		rawClose(s.tfd)
		return
	}
	s.client.Close()
	s.target.Load().Close()
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
