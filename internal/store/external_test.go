package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startEtcd runs a standalone etcd server serving clients on a loopback port
// and returns its client endpoint.
func startEtcd(t *testing.T) string { return startEtcdLimited(t, maxTxnOps) }

// startEtcdLimited is startEtcd with the server's --max-txn-ops.
func startEtcdLimited(t *testing.T, ops uint) string {
	t.Helper()
	cfg := embedConfig(t.TempDir(), zap.NewNop())
	cfg.MaxTxnOps = ops
	cfg.ListenClientUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("etcd not ready")
	}
	return "http://" + e.Clients[0].Addr().String()
}

func TestExternal(t *testing.T) {
	t.Parallel()
	ep := startEtcd(t)
	ctx := context.Background()
	s, err := Open(ctx, Config{Endpoints: []string{ep}, Prefix: "/test/"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("a", "x") }); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(ctx, "/test/a")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `"x"` {
		t.Fatalf("raw get: %v %v", resp, err)
	}
	var got string
	if err := s.Get(ctx, "a", &got); err != nil || got != "x" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestExternalUnreachable(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s, err := Open(context.Background(), Config{Endpoints: []string{"http://127.0.0.1:1"}})
	if err == nil {
		s.Close()
		t.Fatal("Open of unreachable endpoint succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("unclear error: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("Open took %v", d)
	}
	t.Logf("failed after %v: %v", time.Since(start), err)
}

// An external etcd at its default --max-txn-ops (128) refuses a larger
// transaction; Update reports it as ErrTooManyOps, so that callers batching
// independent changes can split them, and writes nothing.
func TestExternalTooManyOps(t *testing.T) {
	t.Parallel()
	ep := startEtcdLimited(t, embed.DefaultMaxTxnOps)
	ctx := context.Background()
	s, err := Open(ctx, Config{Endpoints: []string{ep}, Prefix: "/ops/"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(n int) error {
		return s.Update(ctx, func(tx *Tx) error {
			for i := range n {
				if err := tx.Put(fmt.Sprintf("k%03d", i), i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	const limit = int(embed.DefaultMaxTxnOps)
	if err := put(limit + 1); !errors.Is(err, ErrTooManyOps) {
		t.Fatalf("Update of %d keys: %v, want ErrTooManyOps", limit+1, err)
	}
	var v int
	if err := s.Get(ctx, "k000", &v); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the refused update: k000 = %d, %v; want not found", v, err)
	}
	if err := put(limit); err != nil {
		t.Fatalf("Update of %d keys: %v", limit, err)
	}
}

// With its external etcd gone, a store call ends after the request timeout
// with ErrUnavailable saying that no endpoint answers.
func TestExternalUnavailable(t *testing.T) {
	t.Parallel()
	cfg := embedConfig(t.TempDir(), zap.NewNop())
	cfg.ListenClientUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(e.Close)
	t.Cleanup(stop)
	<-e.Server.ReadyNotify()
	ctx := context.Background()
	s, err := Open(ctx, Config{Endpoints: []string{"http://" + e.Clients[0].Addr().String()}, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("a", "x") }); err != nil {
		t.Fatal(err)
	}
	stop()
	start := time.Now()
	var v string
	err = s.Get(ctx, "a", &v)
	t.Logf("after %v: %v", time.Since(start), err)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "0 of 1 endpoints answer") {
		t.Fatalf("get with etcd gone: %v; want ErrUnavailable saying no endpoint answers", err)
	}
	err = s.Update(ctx, func(tx *Tx) error { return tx.Put("b", "y") })
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("update with etcd gone: %v; want ErrUnavailable", err)
	}
	// A caller that gives up first gets its own error, not ErrUnavailable.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Get(cctx, "a", &v); errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a cancelled context: %v", err)
	}
}
