package reconcile

import "sync"

// firstRealization is closed once a pass has had the data plane apply the whole
// stored state (or, without a data plane, once a pass has run): from then on the
// listeners and resolvers of everything in the store answer, as far as they can.
type firstRealization struct {
	once sync.Once
	ch   chan struct{}
}

func newFirstRealization() *firstRealization {
	return &firstRealization{ch: make(chan struct{})}
}

func (f *firstRealization) done() { f.once.Do(func() { close(f.ch) }) }

// Realized is closed after the first pass that realized the stored state on the
// data plane (a resource that failed is retried later and does not hold it back).
// A server is ready from then on: after a restart, its listeners and VPC
// resolvers answer again.
func (r *Reconciler) Realized() <-chan struct{} { return r.first.ch }
