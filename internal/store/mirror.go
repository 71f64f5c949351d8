package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Mirror is an in-memory copy of every key of the store, kept current by a watch,
// for readers that scan whole kinds often (the reconciler): reading it costs no
// round trip and no copy of unchanged values. Sync makes a read linearizable: it
// waits until the copy holds every write committed before it was called.
type Mirror struct {
	s      *Store
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	kv     map[string]map[string]Entry // kind (the key up to its first '/') → relative key → value
	kinds  map[string]int64            // kind → revision of its last change
	rev    int64                       // every write up to this revision is in kv
	err    error                       // why the copy is not current (loading, or the watch failed)
	wake   chan struct{}               // closed (and replaced) whenever rev advances or err changes
	events chan struct{}               // a value after writes the watch delivered (coalesced; Changed)
	quiet  map[string]bool             // kinds whose writes do not signal Changed (Quiet)
	asked  bool                        // a progress notification has been requested for the current wait
	closed bool
}

// Entry is a key's value and the revision that last wrote it.
type Entry struct {
	Value       []byte
	ModRevision int64
}

// mirrorSyncTimeout bounds how long Sync waits for the watch to catch up.
const mirrorSyncTimeout = 5 * time.Second

// errLoading is Mirror.err until the first load completes.
var errLoading = errors.New("store: mirror is loading")

// Mirror starts a mirror of the store; it runs until ctx is done or Close.
func (s *Store) Mirror(ctx context.Context) *Mirror {
	ctx, cancel := context.WithCancel(ctx)
	m := &Mirror{s: s, cancel: cancel, done: make(chan struct{}), err: errLoading, wake: make(chan struct{}), events: make(chan struct{}, 1)}
	go m.run(ctx)
	return m
}

// Changed delivers a value after the watch brought writes to the copy
// (coalesced): writes of any process, other server replicas' too.
func (m *Mirror) Changed() <-chan struct{} { return m.events }

// Quiet makes writes of the given kinds (the key up to its first '/') not
// signal Changed: records written often that their reader does not scan.
func (m *Mirror) Quiet(kinds ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.quiet == nil {
		m.quiet = map[string]bool{}
	}
	for _, k := range kinds {
		m.quiet[k] = true
	}
}

// Close stops the mirror.
func (m *Mirror) Close() {
	m.cancel()
	<-m.done
}

// run loads the store and follows its changes, loading it again whenever the
// watch breaks (compaction, a lost connection).
func (m *Mirror) run(ctx context.Context) {
	defer close(m.done)
	defer func() {
		m.mu.Lock()
		m.closed = true
		m.setErr(errors.New("store: mirror closed"))
		m.mu.Unlock()
	}()
	for ctx.Err() == nil {
		err := m.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		m.setErr(err)
		m.mu.Unlock()
		m.s.log.Warn("store: mirror watch failed; loading again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow loads every key at one revision and applies the watch's events after it
// until the watch ends.
func (m *Mirror) follow(ctx context.Context) error {
	kv, rev, err := m.load(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.kv, m.kinds = kv, map[string]int64{}
	for k := range kv {
		m.kinds[k] = rev
	}
	m.rev = rev
	m.setErr(nil)
	m.mu.Unlock()
	wctx, stop := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer stop()
	wch := m.s.cli.Watch(wctx, m.s.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		m.mu.Lock()
		signal := false
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key[len(m.s.prefix):])
			k := kind(key)
			signal = signal || !m.quiet[k]
			if ev.Type == clientv3.EventTypeDelete {
				delete(m.kv[k], key)
			} else {
				if m.kv[k] == nil {
					m.kv[k] = map[string]Entry{}
				}
				m.kv[k][key] = Entry{Value: ev.Kv.Value, ModRevision: ev.Kv.ModRevision}
			}
			m.kinds[k] = ev.Kv.ModRevision
			m.advance(ev.Kv.ModRevision)
		}
		if resp.IsProgressNotify() {
			m.advance(resp.Header.Revision)
		}
		m.mu.Unlock()
		if signal {
			select {
			case m.events <- struct{}{}:
			default:
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("store: mirror watch closed")
}

// load reads every key of the store, in pages, at one revision.
func (m *Mirror) load(ctx context.Context) (map[string]map[string]Entry, int64, error) {
	kv := map[string]map[string]Entry{}
	rev, err := m.s.listAt(ctx, "", func(e *mvccpb.KeyValue) error {
		key := string(e.Key[len(m.s.prefix):])
		k := kind(key)
		if kv[k] == nil {
			kv[k] = map[string]Entry{}
		}
		kv[k][key] = Entry{Value: e.Value, ModRevision: e.ModRevision}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: mirror load: %w", err)
	}
	return kv, rev, nil
}

// advance records that every write up to rev is in the copy. The caller holds mu.
func (m *Mirror) advance(rev int64) {
	if rev <= m.rev {
		return
	}
	m.rev = rev
	m.asked = false
	close(m.wake)
	m.wake = make(chan struct{})
}

// setErr records why the copy is not current (nil: it is). The caller holds mu.
func (m *Mirror) setErr(err error) {
	if m.closed && err == nil {
		return
	}
	m.err = err
	close(m.wake)
	m.wake = make(chan struct{})
}

// Sync waits until the copy holds every write committed before the call: it
// reads the store's current revision (a linearizable read of one key) and waits
// for the watch to reach it, asking etcd for a progress notification when the
// revision's events are not under the store's prefix. It fails when the copy is
// not current (loading, or its watch broke) or does not catch up in time; the
// caller then reads the store instead.
func (m *Mirror) Sync(ctx context.Context) error {
	target, err := m.s.Rev(ctx)
	if err != nil {
		return fmt.Errorf("store: mirror sync: %w", err)
	}
	timeout := time.NewTimer(mirrorSyncTimeout)
	defer timeout.Stop()
	for {
		m.mu.Lock()
		err, rev, wake := m.err, m.rev, m.wake
		ask := err == nil && rev < target && !m.asked
		if ask {
			m.asked = true
		}
		m.mu.Unlock()
		switch {
		case err != nil:
			return err
		case rev >= target:
			return nil
		case ask:
			// The events usually arrive by themselves; the progress request
			// covers revisions written outside the prefix.
			if err := m.s.cli.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
				return fmt.Errorf("store: mirror sync: %w", err)
			}
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("store: mirror at revision %d, store at %d after %v", rev, target, mirrorSyncTimeout)
		}
	}
}

// KindRevision is the revision of the last change (put or delete) of a key of
// kind (the part of keys before their first '/'), 0 if there was none since the
// copy was loaded and the kind has no key.
func (m *Mirror) KindRevision(kind string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kinds[kind]
}

// List calls fn for every key of kind in the copy (keys "<kind>/…"), in key
// order, with its entry. fn must not change the value's bytes. If fn returns an
// error, List stops and returns it.
func (m *Mirror) List(kind string, fn func(key string, e Entry) error) error {
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return err
	}
	keys := make([]string, 0, len(m.kv[kind]))
	entries := make([]Entry, 0, len(m.kv[kind]))
	for k := range m.kv[kind] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		entries = append(entries, m.kv[kind][k])
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// kind is the part of a key before its first '/'.
func kind(key string) string {
	k, _, _ := strings.Cut(key, "/")
	return k
}
