package dataplane

import (
	"runtime"
	"sync"
	"time"
)

// idleScanInterval is how often relays.scan looks for idle connections: the
// idle timeout (350 s by default) is enforced to within this.
const idleScanInterval = time.Second

// relays is a proxy's relay machinery: reactor pairs, the sessions by id
// (reactor events carry the id, never a pointer or a descriptor number) and
// the idle scan. Each session uses one pair, chosen by its id: a readability
// reactor and a writability one (a descriptor is the source of one direction
// and the destination of the other, so each direction has its own
// registration). There are as many pairs as GOMAXPROCS, so that reactors
// running directions on their goroutines use every processor.
type relays struct {
	p     *Proxy
	pairs []reactorPair // none if epoll is unavailable: every session uses the fallback

	mu   sync.Mutex // guards the fields below
	next uint64
	byID map[uint64]*session

	stop, done chan struct{} // the scan goroutine
}

// reactorPair is the readability and the writability reactor of a session.
type reactorPair struct{ rx, tx *reactor }

// newRelays starts the reactors and the idle scan.
func newRelays(p *Proxy) *relays {
	r := &relays{p: p, byID: map[uint64]*session{}, stop: make(chan struct{}), done: make(chan struct{})}
	for range max(1, runtime.GOMAXPROCS(0)) {
		rx, err := newReactor(r.wake)
		if err != nil {
			r.closeReactors()
			p.log.Warn("no epoll reactor; relaying with a goroutine per direction", "error", err)
			break
		}
		tx, err := newReactor(r.wake)
		if err != nil {
			rx.close()
			r.closeReactors()
			p.log.Warn("no epoll reactor; relaying with a goroutine per direction", "error", err)
			break
		}
		r.pairs = append(r.pairs, reactorPair{rx, tx})
	}
	go r.scanLoop()
	return r
}

// add gives a session its id and reactor pair, and registers it.
func (r *relays) add(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	s.id = r.next
	s.up.key, s.down.key = s.id<<1, s.id<<1|1
	if len(r.pairs) > 0 {
		s.reactors = &r.pairs[s.id%uint64(len(r.pairs))]
	}
	r.byID[s.id] = s
}

// remove forgets a session; events still carrying its id are ignored.
func (r *relays) remove(s *session) {
	r.mu.Lock()
	delete(r.byID, s.id)
	r.mu.Unlock()
}

// wake resumes the direction a reactor event is for, on the reactor's
// goroutine. It returns the direction if it yielded: the reactor resumes it.
func (r *relays) wake(key uint64, events uint32) yielder {
	r.mu.Lock()
	s := r.byID[key>>1]
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	d := &s.up
	if key&1 == 1 {
		d = &s.down
	}
	if d.wake(true, events) {
		return d
	}
	return nil
}

// scanLoop runs scan every idleScanInterval until close.
func (r *relays) scanLoop() {
	defer close(r.done)
	t := time.NewTicker(idleScanInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.scan()
		}
	}
}

// scan closes the sessions that moved no byte either way for their idle
// timeout: their listener's current one (tcp.idle_timeout.seconds may change
// while a connection is open).
func (r *relays) scan() {
	now := r.p.clock()
	t := r.p.table.Load()
	var idle []*session
	r.mu.Lock()
	for _, s := range r.byID {
		if now-s.last.Load() >= s.idleTimeout(t) {
			idle = append(idle, s)
		}
	}
	r.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
}

// close stops the scan and the reactors; every session must have ended.
func (r *relays) close() {
	close(r.stop)
	<-r.done
	r.closeReactors()
}

// closeReactors closes the reactor pairs.
func (r *relays) closeReactors() {
	for _, pair := range r.pairs {
		pair.rx.close()
		pair.tx.close()
	}
	r.pairs = nil
}
