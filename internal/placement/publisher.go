package placement

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"

	"strait/internal/agent"
)

// Update is a host's part under its revision.
type Update struct {
	Revision uint64
	State    agent.State
}

// Publisher keeps the latest part of each remote host under a revision that
// grows each time the part changes, and hands it to the host's watchers. It
// keeps one state per host, whatever the number of watchers and changes.
// Safe for concurrent use.
type Publisher struct {
	base  uint64
	mu    sync.Mutex
	hosts map[string]*published
}

// published is one host's latest part.
type published struct {
	rev   uint64
	sum   [sha256.Size]byte // of the part's JSON (json.Marshal sorts map keys)
	state agent.State
	// changed is closed, and replaced, when rev changes or the host is forgotten.
	changed chan struct{}
	gone    bool
}

// NewPublisher returns a publisher whose first revision for each host is
// base+1. Watchers resume from the revision they last had, so base must be
// above every revision an earlier publisher handed out: a server passes the
// clock in nanoseconds, which a restart does not take back.
func NewPublisher(base uint64) *Publisher {
	return &Publisher{base: base, hosts: map[string]*published{}}
}

// Set publishes st as host's part. The revision grows only when st differs
// from the part published last (compared by the SHA-256 of their JSON); it
// returns the host's revision and whether it grew. st is shared with the
// watchers: it must not be changed afterwards.
func (p *Publisher) Set(host string, st agent.State) (revision uint64, changed bool) {
	var sum [sha256.Size]byte
	b, err := json.Marshal(st)
	if err == nil {
		sum = sha256.Sum256(b)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.host(host)
	if h.rev != 0 && err == nil && sum == h.sum {
		return h.rev, false
	}
	if h.rev == 0 {
		h.rev = p.base
	}
	h.rev++
	h.sum, h.state = sum, st
	close(h.changed)
	h.changed = make(chan struct{})
	return h.rev, true
}

// Revision is host's current revision; 0 when nothing is published for it.
func (p *Publisher) Revision(host string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.hosts[host]; ok {
		return h.rev
	}
	return 0
}

// Forget drops host's part (the host left the region): its watches end.
func (p *Publisher) Forget(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.hosts[host]; ok {
		h.gone = true
		close(h.changed)
		delete(p.hosts, host)
	}
}

// host returns host's entry, made empty (revision 0) when it has none. The
// caller holds p.mu.
func (p *Publisher) host(host string) *published {
	h, ok := p.hosts[host]
	if !ok {
		h = &published{changed: make(chan struct{})}
		p.hosts[host] = h
	}
	return h
}

// Watch delivers host's part when its revision is above fromRev, then each
// newer one. A watcher that is slow to receive gets only the newest part: the
// ones published while it was busy are skipped. The channel closes when ctx
// is done or the host is forgotten. A host with nothing published yet is
// watched until something is.
func (p *Publisher) Watch(ctx context.Context, host string, fromRev uint64) <-chan Update {
	out := make(chan Update)
	p.mu.Lock()
	h := p.host(host)
	p.mu.Unlock()
	go func() {
		defer close(out)
		for {
			p.mu.Lock()
			rev, st, changed, gone := h.rev, h.state, h.changed, h.gone
			p.mu.Unlock()
			if gone {
				return
			}
			if rev > fromRev {
				select {
				case <-changed: // already replaced: send the newer one
					continue
				default:
				}
				select {
				case out <- Update{Revision: rev, State: st}:
					fromRev = rev
				case <-changed: // a newer part replaces this one
				case <-ctx.Done():
					return
				}
				continue
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
