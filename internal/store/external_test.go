package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
