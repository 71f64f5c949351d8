package store

import (
	"context"
	"errors"
	"testing"
)

// An Update under a fence commits while the fence's key exists with the
// fence's create revision, and fails with ErrFenced, writing nothing, once the
// key is deleted or created again.
func TestUpdateFence(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	cli := s.Client()
	const key = "/election/leader-a"
	resp, err := cli.Put(ctx, key, "a")
	if err != nil {
		t.Fatal(err)
	}
	fence := Fence{Key: key, Rev: resp.Header.Revision}
	fctx := WithFence(ctx, fence)
	if err := s.Update(fctx, func(tx *Tx) error { return tx.Put("x", 1) }); err != nil {
		t.Fatalf("update under a fence that holds: %v", err)
	}
	// A read-only update needs no fence.
	if _, err := cli.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(fctx, func(tx *Tx) error { var v int; _, err := tx.Get("x", &v); return err }); err != nil {
		t.Fatalf("read-only update: %v", err)
	}
	if _, err := cli.Put(ctx, key, "b"); err != nil { // the same key, created again
		t.Fatal(err)
	}
	err = s.Update(fctx, func(tx *Tx) error { return tx.Put("x", 2) })
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("update under a broken fence: %v; want ErrFenced", err)
	}
	var v int
	if err := s.Get(ctx, "x", &v); err != nil || v != 1 {
		t.Fatalf("x = %d, %v; want 1 (nothing written under the broken fence)", v, err)
	}
}
