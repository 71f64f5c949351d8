package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

type item struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Logf("Open took %v", time.Since(start))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestPutGetListDelete(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()

	if err := s.Get(ctx, "vpc/vpc-1", &item{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent: got %v, want ErrNotFound", err)
	}
	err := s.Update(ctx, func(tx *Tx) error {
		if tx.Exists("vpc/vpc-1") {
			t.Error("Exists before Put")
		}
		if err := tx.Put("vpc/vpc-1", item{Name: "a", N: 1}); err != nil {
			return err
		}
		if !tx.Exists("vpc/vpc-1") {
			t.Error("own write not visible")
		}
		return tx.Put("vpc/vpc-2", item{Name: "b", N: 2})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	var got item
	if err := s.Get(ctx, "vpc/vpc-1", &got); err != nil || got != (item{"a", 1}) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	var keys []string
	if err := s.List(ctx, "vpc/", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "vpc/vpc-1,vpc/vpc-2" {
		t.Fatalf("List = %v", keys)
	}

	err = s.Update(ctx, func(tx *Tx) error {
		var it item
		ok, err := tx.Get("vpc/vpc-2", &it)
		if err != nil || !ok || it.N != 2 {
			t.Errorf("tx.Get = %v %+v %v", ok, it, err)
		}
		tx.Delete("vpc/vpc-2")
		if ok, _ := tx.Get("vpc/vpc-2", &it); ok {
			t.Error("deleted key still visible in tx")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update delete: %v", err)
	}
	if err := s.Get(ctx, "vpc/vpc-2", &got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted: got %v, want ErrNotFound", err)
	}
}

func TestUpdateRollback(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	rev0, err := s.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	err = s.Update(ctx, func(tx *Tx) error {
		if err := tx.Put("x", item{Name: "x"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) || err != errBoom {
		t.Fatalf("Update error = %v, want errBoom unchanged", err)
	}
	if err := s.Get(ctx, "x", &item{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after rollback: %v", err)
	}
	if rev, _ := s.Rev(ctx); rev != rev0 {
		t.Fatalf("revision moved from %d to %d after rollback", rev0, rev)
	}
}

func TestUpdateConflictRetry(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	const workers, perWorker = 2, 50
	var runs sync.Map // counts fn invocations per worker, to observe retries
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				err := s.Update(ctx, func(tx *Tx) error {
					n, _ := runs.LoadOrStore(w, new(int))
					*n.(*int)++
					var c int
					if _, err := tx.Get("counter", &c); err != nil {
						return err
					}
					return tx.Put("counter", c+1)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var c int
	if err := s.Get(ctx, "counter", &c); err != nil {
		t.Fatal(err)
	}
	if c != workers*perWorker {
		t.Fatalf("counter = %d, want %d", c, workers*perWorker)
	}
	total := 0
	runs.Range(func(_, v any) bool { total += *v.(*int); return true })
	t.Logf("%d updates took %v, fn ran %d times (%d retries)", workers*perWorker, time.Since(start), total, total-workers*perWorker)
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("k", item{Name: "kept"}) }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openTest(t, dir)
	var got item
	if err := s.Get(ctx, "k", &got); err != nil || got.Name != "kept" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestLockedDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openTest(t, dir)
	start := time.Now()
	s2, err := Open(context.Background(), Config{DataDir: dir})
	if err == nil {
		s2.Close()
		t.Fatal("second Open on the same dir succeeded")
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("unclear error: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second Open took %v", d)
	}
	t.Logf("second Open failed in %v: %v", time.Since(start), err)
}

func TestListPrefix(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	// More keys than one List page, written out of order, plus neighbours
	// that share a textual prefix but must not be listed.
	const n = listPageSize + 7
	err := s.Update(ctx, func(tx *Tx) error {
		for i := n - 1; i >= 0; i-- {
			if err := tx.Put(key3(i), i); err != nil {
				return err
			}
		}
		if err := tx.Put("svc-other/x", 0); err != nil {
			return err
		}
		return tx.Put("sv/x", 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A key outside the store prefix must not be seen either.
	if _, err := s.Client().Put(ctx, "/other/svc/000", "{}"); err != nil {
		t.Fatal(err)
	}

	var keys []string
	err = s.List(ctx, "svc/", func(k string, v []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Fatalf("List returned %d keys, want %d", len(keys), n)
	}
	for i, k := range keys {
		if k != key3(i) {
			t.Fatalf("keys[%d] = %q, want %q", i, k, key3(i))
		}
	}

	errStop := errors.New("stop")
	calls := 0
	err = s.List(ctx, "", func(string, []byte) error { calls++; return errStop })
	if err != errStop || calls != 1 {
		t.Fatalf("List stop: err=%v calls=%d", err, calls)
	}
}

func key3(i int) string {
	return "svc/" + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestWatchViaClient(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev, err := s.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wch := s.Client().Watch(ctx, s.Prefix()+"w/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("w/1", 1) }); err != nil {
		t.Fatal(err)
	}
	select {
	case wr := <-wch:
		if err := wr.Err(); err != nil || len(wr.Events) != 1 || string(wr.Events[0].Kv.Key) != "/strait/w/1" {
			t.Fatalf("watch response %+v, %v", wr, err)
		}
	case <-ctx.Done():
		t.Fatal("no watch event")
	}
}
