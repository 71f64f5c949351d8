// Package fdbudget keeps a process below its open-file limit (RLIMIT_NOFILE) so
// that running out of descriptors is a refusal at the edge, never a failure
// deep inside: the embedded etcd stops the whole process when it cannot open a
// file, and a relay that cannot create a socket breaks a connection.
//
// Whoever opens descriptors on behalf of clients — the API listener, the data
// plane's accept path — takes them from a Pool before accepting more work and
// gives them back when the work ends. A pool with a share is guaranteed that
// many descriptors and never holds more (the API's connections); a pool
// without one takes what is left, always leaving the unused part of the
// shares and the Budget's reserve free (the data plane). Descriptors opened by
// everything else (the store, listeners, health checks, DNS, splice pipes) are
// not counted one by one: the Budget counts the process's open descriptors
// every second (/proc/self/fd) and attributes to them whatever its pools do
// not hold; the reserve covers what they open between two counts.
package fdbudget

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// SampleInterval is how often Run counts the process's open descriptors.
const SampleInterval = time.Second

// resampleAfter rate-limits the fresh counts a refusal triggers.
const resampleAfter = 100 * time.Millisecond

// Budget accounts for a process's descriptors against its limit. It is safe
// for concurrent use.
type Budget struct {
	limit   int
	reserve int
	log     *slog.Logger

	mu         sync.Mutex
	held       int // taken through pools and not given back
	guarded    int // the unused part of the pools' shares
	other      int // open and not held, at the last sample
	lastSample time.Time
}

// OpenFileLimit is the process's current RLIMIT_NOFILE: its soft limit, which
// the Go runtime raised to the hard one at start.
func OpenFileLimit() (int, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	return int(min(rl.Cur, 1<<30)), nil // RLIM_INFINITY: the kernel caps a table at fs.nr_open anyway
}

// New returns a Budget that keeps the process below limit (OpenFileLimit;
// tests pass less) with reserve descriptors free for what it does not count,
// and counts the descriptors open now.
func New(limit, reserve int, log *slog.Logger) (*Budget, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Budget{limit: limit, reserve: reserve, log: log}
	if err := b.Sample(); err != nil {
		return nil, err
	}
	return b, nil
}

// Limit is the open-file limit the budget keeps below.
func (b *Budget) Limit() int { return b.limit }

// Reserve is how many descriptors the budget keeps free for what it does not count.
func (b *Budget) Reserve() int { return b.reserve }

// Open is the number of descriptors the budget counts as open: the ones the
// pools hold now plus the others at the last sample.
func (b *Budget) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held + b.other
}

// Held is the number of descriptors the pools hold.
func (b *Budget) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Sample counts the process's open descriptors and attributes to the others
// whatever the pools do not hold.
func (b *Budget) Sample() error {
	n, err := countOpen()
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.other = max(n-b.held, 0)
	b.lastSample = time.Now()
	b.mu.Unlock()
	return nil
}

// Run samples every SampleInterval until ctx ends.
func (b *Budget) Run(ctx context.Context) {
	t := time.NewTicker(SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.Sample(); err != nil {
				b.log.Warn("counting open descriptors", "err", err)
			}
		}
	}
}

// Pool returns a pool of b. With share > 0 the pool is guaranteed share
// descriptors (the other pools leave them free) and never holds more; with
// share 0 it takes whatever the shares and the reserve leave.
func (b *Budget) Pool(share int) *Pool {
	b.mu.Lock()
	b.guarded += share
	b.mu.Unlock()
	return &Pool{b: b, share: share}
}

// Pool hands out descriptors of a Budget. It is safe for concurrent use.
type Pool struct {
	b     *Budget
	share int
	held  int // under b.mu
}

// Capacity is how many descriptors the pool could hold if it held none now: its
// share, or for a pool without one, the limit less the reserve, the shares and
// the other descriptors open at the last sample.
func (p *Pool) Capacity() int {
	if p.share > 0 {
		return p.share
	}
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.limit-b.reserve-b.guarded-b.other-(b.held-p.held), 0)
}

// Take reserves n descriptors and reports whether it could. A refusal of a
// pool without a share is rechecked against a fresh count (at most every
// resampleAfter), as descriptors counted at the last sample may be closed.
func (p *Pool) Take(n int) bool {
	if ok, stale := p.take(n); ok || !stale {
		return ok
	}
	if err := p.b.Sample(); err != nil {
		return false
	}
	ok, _ := p.take(n)
	return ok
}

// take reserves n descriptors if it can; stale reports a refusal that a fresh
// sample may turn.
func (p *Pool) take(n int) (ok, stale bool) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.share > 0 {
		// From the pool's own share, which the others leave free; still never
		// past the limit itself.
		if p.held+n > p.share || b.held+n+b.other > b.limit {
			return false, false
		}
		b.guarded -= n
	} else if b.held+n+b.other+b.guarded+b.reserve > b.limit {
		return false, time.Since(b.lastSample) >= resampleAfter
	}
	p.held += n
	b.held += n
	return true, false
}

// Give returns n descriptors taken with Take.
func (p *Pool) Give(n int) {
	b := p.b
	b.mu.Lock()
	p.held -= n
	b.held -= n
	if p.share > 0 {
		b.guarded += n
	}
	b.mu.Unlock()
}
