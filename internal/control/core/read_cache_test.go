package core

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/model"
	"strait/internal/store"
)

// Scans through the read cache give what scans of the store give, right after
// each write, and decode only what changed.
func TestReadCache(t *testing.T) {
	c := newTestBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := c.StartCache(ctx)
	defer stop()
	put := func(v model.Vpc) {
		t.Helper()
		if err := c.Update(ctx, func(tx *store.Tx) error { return tx.Put(Key(model.KindVpc, v.ID), v) }); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.WithCache(ctx).Value(cacheKey{}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the cache never got in sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	check := func(what string) []model.Vpc {
		t.Helper()
		rctx := c.WithCache(ctx)
		if rctx.Value(cacheKey{}) == nil {
			t.Fatalf("%s: cache not in sync", what)
		}
		got, err := Scan[model.Vpc](rctx, c, model.KindVpc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := List[model.Vpc](ctx, c.st, model.KindVpc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: cache has %+v, store %+v", what, got, want)
		}
		return got
	}
	check("empty")
	put(model.Vpc{ID: "vpc-1", CIDR: "10.0.0.0/16"})
	put(model.Vpc{ID: "vpc-2", CIDR: "10.1.0.0/16"})
	check("two")
	// Mark the decoded vpc-1: a scan after another record changed must reuse it.
	c.cache.mu.Lock()
	k := Key(model.KindVpc, "vpc-1")
	d := c.cache.kinds[model.KindVpc].memo[k]
	marked := d.v.(model.Vpc)
	marked.Tags = model.Tags{"decoded": "once"}
	c.cache.kinds[model.KindVpc].memo[k] = decoded{rev: d.rev, v: marked}
	c.cache.mu.Unlock()
	put(model.Vpc{ID: "vpc-2", CIDR: "10.2.0.0/16"})
	got, err := Scan[model.Vpc](c.WithCache(ctx), c, model.KindVpc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].CIDR != "10.2.0.0/16" || len(got[0].Tags) != 1 {
		t.Fatalf("after changing vpc-2: %+v (want vpc-1 as decoded before, marked)", got)
	}
	// vpc-1 changes: decoded again.
	put(model.Vpc{ID: "vpc-1", CIDR: "10.3.0.0/16"})
	check("vpc-1 changed")
	if err := c.Update(ctx, func(tx *store.Tx) error { tx.Delete(Key(model.KindVpc, "vpc-1")); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := check("deleted"); len(got) != 1 {
		t.Fatalf("after delete: %+v", got)
	}
}

// ScanWhere and Lookup give the same records through the read cache as from
// the store, and a missing record is not found, not an error.
func TestReadCacheSelect(t *testing.T) {
	c := newTestBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, owner := range []string{"111111111111", "222222222222", "111111111111"} {
		v := model.Vpc{ID: fmt.Sprintf("vpc-%d", i), Owner: owner, CIDR: "10.0.0.0/16"}
		if err := c.Update(ctx, func(tx *store.Tx) error { return tx.Put(Key(model.KindVpc, v.ID), v) }); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, rctx context.Context) {
		t.Helper()
		got, err := ScanWhere(rctx, c, model.KindVpc, func(v *model.Vpc) bool { return v.Owner == "111111111111" })
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "vpc-0" || got[1].ID != "vpc-2" {
			t.Fatalf("%s: ScanWhere gave %d VPCs, want vpc-0 and vpc-2", what, len(got))
		}
		v, ok, err := Lookup[model.Vpc](rctx, c, model.KindVpc, "vpc-1")
		if err != nil || !ok || v.Owner != "222222222222" {
			t.Fatalf("%s: Lookup vpc-1 = %+v, %v, %v", what, v, ok, err)
		}
		if _, ok, err := Lookup[model.Vpc](rctx, c, model.KindVpc, "vpc-9"); ok || err != nil {
			t.Fatalf("%s: Lookup of a missing VPC: ok %v, err %v", what, ok, err)
		}
	}
	check("store", ctx)
	stop := c.StartCache(ctx)
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	rctx := c.WithCache(ctx)
	for rctx.Value(cacheKey{}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the cache never got in sync")
		}
		time.Sleep(10 * time.Millisecond)
		rctx = c.WithCache(ctx)
	}
	check("cache", rctx)
}

// newTestBase opens a store in a temporary directory for one test.
func newTestBase(t *testing.T) *Base {
	t.Helper()
	return New(controltest.OpenStore(t), Config{})
}
