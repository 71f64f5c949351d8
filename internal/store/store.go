// Package store is Strait's persistent state store.
//
// State is kept as JSON values in etcd under a common key prefix. By default
// the store runs an embedded single-node etcd server whose data lives in
// DataDir/etcd and is reached through an in-process client (no network); if
// Config.Endpoints is set it connects to an external etcd cluster instead.
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
	cli    *clientv3.Client
	prefix string
	log    *slog.Logger

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
	var err error
	if len(cfg.Endpoints) > 0 {
		err = s.openExternal(ctx, cfg.Endpoints)
	} else {
		err = s.openEmbedded(ctx, cfg.DataDir, cfg.PurgeInterval)
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
	resp, err := s.cli.Get(ctx, s.prefix+key)
	if err != nil {
		return fmt.Errorf("store: get %q: %w", key, err)
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
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return 0, fmt.Errorf("store: list %q: %w", prefix, err)
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

// Update runs fn in a serializable software transaction (see Tx: reads at one
// snapshot, conflicts detected at commit) and commits its writes atomically. fn
// is re-run when a conflicting write is detected, so it must not have side
// effects outside tx. If fn returns an error nothing is written and that error
// is returned unchanged; if one of tx's reads failed, the update fails with
// that read's error instead.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	for {
		tx := newTx(ctx, s.cli, s.prefix)
		fnErr := fn(tx)
		switch {
		case tx.err != nil:
			return tx.err
		case fnErr != nil:
			return fnErr
		}
		done, err := tx.commit()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: update: %w", err)
		}
	}
}

// Rev returns the current etcd revision.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("store: rev: %w", err)
	}
	return resp.Header.Revision, nil
}
