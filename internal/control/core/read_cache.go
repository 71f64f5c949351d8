package core

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	"strait/internal/model"
	"strait/internal/store"
)

// readCache serves the reads that scan whole kinds — the reconciler's Snapshot
// and Settle, endpoint descriptions — from a mirror of the store, decoding only
// the records written since the last scan, so that their cost follows the
// changes, not the number of records. Records it returns share their slices and
// maps with it: callers read them and do not change them.
type readCache struct {
	m     *store.Mirror
	mu    sync.Mutex
	kinds map[string]*kindCache
}

// kindCache is the decoded records of one kind.
type kindCache struct {
	rev   int64 // the mirror's KindRevision when items was built
	items any   // []T in key order
	memo  map[string]decoded
}

// decoded is a record decoded at the revision that wrote it.
type decoded struct {
	rev int64
	v   any
}

// StartCache serves Snapshot, Settle and the endpoint listings from an
// in-memory mirror of the store until stop is called (or ctx is done; stop must
// still be called), and makes Changed deliver after writes of other processes
// (server replicas) too. Each read still waits until the mirror holds every write
// committed before it (a linearizable read of the store's revision), so readers
// see what they would read from the store; when the mirror cannot say so in time
// they read the store.
func (c *Base) StartCache(ctx context.Context) (stop func()) {
	rc := &readCache{m: c.st.Mirror(ctx), kinds: map[string]*kindCache{}}
	c.cacheMu.Lock()
	c.cache = rc
	c.cacheMu.Unlock()
	// Writes of other processes (server replicas) wake Changed's waiters too;
	// not the hosts' heartbeats (every 3 s a host) nor the leader election.
	rc.m.Quiet(model.KindHost, "leader")
	fwd, stopFwd := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-fwd.Done():
				return
			case <-rc.m.Changed():
				c.notify()
			}
		}
	}()
	return func() {
		stopFwd()
		c.cacheMu.Lock()
		if c.cache == rc {
			c.cache = nil
		}
		c.cacheMu.Unlock()
		rc.m.Close()
	}
}

// cacheKey carries a synced readCache in a context (see WithCache).
type cacheKey struct{}

// withCache returns ctx carrying the read cache once it holds every write
// committed so far, for the scans made with it; ctx itself when there is no
// cache or it cannot catch up (the scans then read the store).
func (c *Base) WithCache(ctx context.Context) context.Context {
	c.cacheMu.Lock()
	rc := c.cache
	c.cacheMu.Unlock()
	if rc == nil {
		return ctx
	}
	if err := rc.m.Sync(ctx); err != nil {
		c.cfg.Logger.Debug("read cache not in sync; reading the store", "err", err)
		return ctx
	}
	return context.WithValue(ctx, cacheKey{}, rc)
}

// Scan reads every record of kind, in ID order: from the read cache ctx carries
// (WithCache), else from the store.
func Scan[T any](ctx context.Context, c *Base, kind string) ([]T, error) {
	rc, _ := ctx.Value(cacheKey{}).(*readCache)
	if rc == nil {
		return List[T](ctx, c.st, kind)
	}
	return cached[T](rc, kind)
}

// cached returns the records of kind from the cache, decoding those written
// since the last call.
func cached[T any](rc *readCache, kind string) ([]T, error) {
	kc, err := refresh[T](rc, kind)
	if err != nil {
		return nil, err
	}
	return slices.Clone(kc.items.([]T)), nil
}

// ScanWhere reads the records of kind that keep accepts, in ID order, like
// Scan, without copying any: with the read cache the pointers are into its
// records, which callers read and do not change.
func ScanWhere[T any](ctx context.Context, c *Base, kind string, keep func(*T) bool) ([]*T, error) {
	var all []T
	if rc, _ := ctx.Value(cacheKey{}).(*readCache); rc != nil {
		kc, err := refresh[T](rc, kind)
		if err != nil {
			return nil, err
		}
		all = kc.items.([]T)
	} else {
		var err error
		if all, err = List[T](ctx, c.st, kind); err != nil {
			return nil, err
		}
	}
	var out []*T
	for i := range all {
		if keep(&all[i]) {
			out = append(out, &all[i])
		}
	}
	return out, nil
}

// Lookup reads one record of kind by ID: from the read cache ctx carries, else
// from the store. A missing record is not an error: ok is false.
func Lookup[T any](ctx context.Context, c *Base, kind, id string) (v T, ok bool, err error) {
	if rc, _ := ctx.Value(cacheKey{}).(*readCache); rc != nil {
		kc, err := refresh[T](rc, kind)
		if err != nil {
			return v, false, err
		}
		d, ok := kc.memo[Key(kind, id)]
		if !ok {
			return v, false, nil
		}
		return d.v.(T), true, nil
	}
	switch err := c.st.Get(ctx, Key(kind, id), &v); {
	case errors.Is(err, store.ErrNotFound):
		return v, false, nil
	case err != nil:
		return v, false, err
	}
	return v, true, nil
}

// refresh brings the cache of kind up to the mirror, decoding the records
// written since the last call, and returns it. Its items and memo are never
// changed afterwards (a later refresh replaces them), so callers read them
// without the lock.
func refresh[T any](rc *readCache, kind string) (*kindCache, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rev := rc.m.KindRevision(kind)
	kc := rc.kinds[kind]
	if kc != nil && kc.rev == rev {
		return kc, nil
	}
	var old map[string]decoded
	if kc != nil {
		old = kc.memo
	}
	var out []T
	memo := make(map[string]decoded, len(old))
	err := rc.m.List(kind, func(key string, e store.Entry) error {
		if d, ok := old[key]; ok && d.rev == e.ModRevision {
			out = append(out, d.v.(T))
			memo[key] = d
			return nil
		}
		var v T
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return err
		}
		out = append(out, v)
		memo[key] = decoded{rev: e.ModRevision, v: v}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kc = &kindCache{rev: rev, items: out, memo: memo}
	rc.kinds[kind] = kc
	return kc, nil
}
