// Package store is Strait's persistent state store.
//
// State is kept as JSON values in etcd under a common key prefix. By default
// the store runs an embedded single-node etcd server whose data lives in
// DataDir/etcd and is reached through an in-process client (no network);
// Config.Member makes that embedded server one member of a cluster of several
// replicas' embedded servers (cluster.go); if Config.Endpoints is set the
// store connects to an external etcd cluster instead.
//
// Every call is bounded by Config.RequestTimeout: when etcd cannot answer
// (no quorum, no leader) it fails with an *UnavailableError (ErrUnavailable)
// instead of waiting for ever. Update commits under a Fence carried by its
// context (WithFence), for a leader's writes (package leader).
//
// Callers always use relative keys such as "vpc/vpc-0123"; the store adds and
// strips Config.Prefix. Multi-key read-modify-write operations go through
// Update, which runs a serializable software transaction (Tx) that is retried
// on conflict.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// ErrNotFound is returned (possibly wrapped) by Store.Get when a key is absent.
var ErrNotFound = errors.New("store: key not found")

// ErrTooManyOps is returned by Update when the etcd server refuses the
// transaction as too large: more operations or comparisons than its
// --max-txn-ops (128 by default on an external server; the embedded one
// allows maxTxnOps). Callers that batch independent changes can split them.
var ErrTooManyOps = errors.New("store: transaction exceeds the etcd server's --max-txn-ops")

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "/strait/"

// listPageSize bounds the number of keys fetched per request by List.
const listPageSize = 500

// Config configures Open.
type Config struct {
	// DataDir holds the embedded etcd data in DataDir/etcd; the directory is
	// created with mode 0700 if missing. Ignored when Endpoints is set.
	DataDir string
	// Endpoints, if non-empty, selects an external etcd cluster instead of the
	// embedded server.
	Endpoints []string
	// Member makes the embedded etcd a member of a cluster of embedded members
	// (zero: a single member, reached in-process only). Not with Endpoints.
	Member Member
	// RequestTimeout bounds each Get, List, Update and Rev (0:
	// DefaultRequestTimeout): when etcd cannot answer in time (no quorum, no
	// leader, members unreachable) the call fails with an error wrapping
	// ErrUnavailable.
	RequestTimeout time.Duration
	// Prefix is prepended to every key; DefaultPrefix if empty.
	Prefix string
	// Logger receives store log messages; nil discards them.
	Logger *slog.Logger
	// PurgeInterval is how often old WAL and snapshot files of the embedded
	// etcd are removed (0: every 30 s, as etcd does).
	PurgeInterval time.Duration
}

// Store is a handle on Strait's etcd-backed state. It is safe for concurrent
// use.
type Store struct {
	cli     *clientv3.Client
	prefix  string
	log     *slog.Logger
	timeout time.Duration // bounds each call (RequestTimeout)
	eps     []string      // external mode: the endpoints

	etcd    *embed.Etcd // nil in external mode
	lock    *dirLock    // nil in external mode
	closing atomic.Bool // set when the embedded server is being stopped

	stopPurge chan struct{} // embedded: closed by Close to end the purge loops
	purgeDone chan struct{} // closed once they ended

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store described by cfg. In embedded mode it starts etcd and
// waits until it is ready; in external mode it verifies that the cluster is
// reachable. ctx bounds only the opening, not the lifetime of the Store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{prefix: cfg.Prefix, log: cfg.Logger}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.timeout = cfg.RequestTimeout
	if s.timeout <= 0 {
		s.timeout = DefaultRequestTimeout
	}
	if err := cfg.Member.Validate(); err != nil {
		return nil, err
	}
	var err error
	if len(cfg.Endpoints) > 0 {
		if !cfg.Member.IsZero() {
			return nil, errors.New("--etcd-endpoints (an external etcd cluster) excludes the embedded cluster member flags (--etcd-name, --etcd-initial-cluster, --etcd-join, --etcd-peer-listen, --etcd-client-listen)")
		}
		err = s.openExternal(ctx, cfg.Endpoints)
	} else {
		err = s.openEmbedded(ctx, cfg.DataDir, cfg.Member, cfg.PurgeInterval)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the client and stops the embedded etcd server, if any. It is
// safe to call more than once; later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.cli.Close()
		if errors.Is(s.closeErr, context.Canceled) {
			s.closeErr = nil // in-process client reports its own cancellation
		}
		if s.etcd != nil {
			close(s.stopPurge)
			<-s.purgeDone
			s.closing.Store(true)
			s.etcd.Close()
			s.log.Info("store: embedded etcd stopped")
		}
		if s.lock != nil {
			s.closeErr = errors.Join(s.closeErr, s.lock.release())
		}
	})
	return s.closeErr
}

// Client returns the underlying etcd client, e.g. for watches. Keys seen
// through it carry the store prefix (see Prefix).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the key prefix the store prepends to every key.
func (s *Store) Prefix() string { return s.prefix }

// Get decodes the JSON value at key into v. It returns an error wrapping
// ErrNotFound if the key is absent.
func (s *Store) Get(ctx context.Context, key string, v any) error {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	var resp *clientv3.GetResponse
	err := attempt(bctx, isTransient, func() (err error) {
		resp, err = s.cli.Get(bctx, s.prefix+key)
		return err
	})
	if err != nil {
		return s.failed(ctx, fmt.Sprintf("get %q", key), err, false)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, key)
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, v); err != nil {
		return fmt.Errorf("store: decode %q: %w", key, err)
	}
	return nil
}

// List calls fn for every key starting with prefix, in key order, with the
// store prefix stripped from the key. All pages are read at one revision, so
// fn sees a consistent snapshot. If fn returns an error, List stops and
// returns it unchanged.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, val []byte) error) error {
	_, err := s.listAt(ctx, prefix, func(kv *mvccpb.KeyValue) error {
		return fn(string(kv.Key[len(s.prefix):]), kv.Value)
	})
	return err
}

// listAt reads every key starting with prefix in pages, all at the revision of
// the first page, which it returns, and calls fn for each key-value in key
// order (keys with the store prefix). If fn returns an error, listAt stops and
// returns it unchanged.
func (s *Store) listAt(ctx context.Context, prefix string, fn func(kv *mvccpb.KeyValue) error) (int64, error) {
	full := s.prefix + prefix
	end := clientv3.GetPrefixRangeEnd(full)
	from, rev := full, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.page(ctx, from, opts)
		if err != nil {
			return 0, s.failed(ctx, fmt.Sprintf("list %q", prefix), err, false)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if err := fn(kv); err != nil {
				return 0, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// page reads one page of a range, bounded by the request timeout.
func (s *Store) page(ctx context.Context, from string, opts []clientv3.OpOption) (resp *clientv3.GetResponse, err error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	err = attempt(bctx, isTransient, func() (err error) {
		resp, err = s.cli.Get(bctx, from, opts...)
		return err
	})
	return resp, err
}

// Update runs fn in a serializable software transaction (see Tx: reads at one
// snapshot, conflicts detected at commit) and commits its writes atomically. fn
// is re-run when a conflicting write is detected, so it must not have side
// effects outside tx. If fn returns an error nothing is written and that error
// is returned unchanged; if one of tx's reads failed, the update fails with
// that read's error instead.
//
// The whole update is bounded by the request timeout: when etcd cannot answer,
// it fails with an error wrapping ErrUnavailable. If ctx carries a Fence
// (WithFence), the commit also requires the fence to hold, and the update
// fails with an error wrapping ErrFenced, writing nothing, when it does not.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	fence, fenced := FenceFrom(ctx)
	for {
		tx := newTx(bctx, s.cli, s.prefix)
		if fenced {
			tx.fence = &fence
		}
		fnErr := fn(tx)
		switch {
		case tx.err != nil && isTransient(tx.err) && bctx.Err() == nil:
			time.Sleep(retryPause) // fn has no effects outside tx: run it again
			continue
		case tx.err != nil && isUnavailable(tx.err) && ctx.Err() == nil:
			return s.failed(ctx, "update", tx.err, false)
		case tx.err != nil:
			return tx.err
		case fnErr != nil:
			return fnErr
		}
		var done bool
		err := attempt(bctx, notApplied, func() (err error) {
			done, err = tx.commit()
			return err
		})
		if err != nil {
			if errors.Is(err, ErrTooManyOps) || errors.Is(err, ErrFenced) {
				return err
			}
			return s.failed(ctx, "update", err, true)
		}
		if done {
			return nil
		}
		if err := bctx.Err(); err != nil {
			return s.failed(ctx, "update", err, false)
		}
	}
}

// Rev returns the current etcd revision.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	var resp *clientv3.GetResponse
	err := attempt(bctx, isTransient, func() (err error) {
		resp, err = s.cli.Get(bctx, s.prefix, clientv3.WithCountOnly())
		return err
	})
	if err != nil {
		return 0, s.failed(ctx, "rev", err, false)
	}
	return resp.Header.Revision, nil
}
