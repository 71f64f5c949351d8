package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// The mirror holds every write committed before Sync, also right after the
// write, and also when the last revision was written outside the store's prefix.
func TestMirror(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put := func(key string, n int) {
		t.Helper()
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Put(key, item{Name: key, N: n}) }); err != nil {
			t.Fatal(err)
		}
	}
	put("vpc/vpc-1", 1)
	m := s.Mirror(ctx)
	defer m.Close()
	// Loading: Sync fails until the copy is current, then succeeds.
	deadline := time.Now().Add(30 * time.Second)
	for m.Sync(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("mirror never in sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	list := func(kind string) map[string]int {
		t.Helper()
		if err := m.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		var last string
		err := m.List(kind, func(key string, e Entry) error {
			if key <= last {
				t.Errorf("keys out of order: %q after %q", key, last)
			}
			last = key
			var it item
			if err := json.Unmarshal(e.Value, &it); err != nil {
				return err
			}
			out[key] = it.N
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := list("vpc"); len(got) != 1 || got["vpc/vpc-1"] != 1 {
		t.Fatalf("after load: %v", got)
	}
	before := m.KindRevision("vpc")
	put("vpc/vpc-2", 2)
	put("vpc/vpc-1", 3)
	put("subnet/subnet-1", 4)
	if got := list("vpc"); len(got) != 2 || got["vpc/vpc-1"] != 3 || got["vpc/vpc-2"] != 2 {
		t.Fatalf("after writes: %v", got)
	}
	if m.KindRevision("vpc") <= before {
		t.Errorf("vpc revision %d did not move past %d", m.KindRevision("vpc"), before)
	}
	vpcRev := m.KindRevision("vpc")
	if err := s.Update(ctx, func(tx *Tx) error { tx.Delete("vpc/vpc-2"); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := list("vpc"); len(got) != 1 {
		t.Fatalf("after delete: %v", got)
	}
	if m.KindRevision("vpc") <= vpcRev {
		t.Error("a delete did not move the kind's revision")
	}
	if got := list("subnet"); len(got) != 1 || got["subnet/subnet-1"] != 4 {
		t.Fatalf("subnets: %v", got)
	}
	// A write outside the prefix moves the store's revision without an event.
	if _, err := s.Client().Put(ctx, "/elsewhere/key", "x"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Sync(ctx); err != nil {
		t.Fatalf("sync after a write outside the prefix: %v", err)
	}
	t.Logf("sync after a write outside the prefix: %v", time.Since(start))
}
