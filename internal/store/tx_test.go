package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// scanKeys collects what tx.Scan visits, stopping after the key stop ("" : never).
func scanKeys(t *testing.T, tx *Tx, prefix, start, stop string) []string {
	t.Helper()
	var got []string
	err := tx.Scan(prefix, start, func(key string, val []byte) (bool, error) {
		var it item
		if err := json.Unmarshal(val, &it); err != nil {
			return false, err
		}
		got = append(got, key+"="+it.Name)
		return key != stop, nil
	})
	if err != nil {
		t.Fatalf("Scan(%q, %q): %v", prefix, start, err)
	}
	return got
}

func TestTxScanSeesSnapshotAndOwnWrites(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	// More keys than one page, so that the scan pages and merges across pages.
	const n = scanPageSize + 10
	err := s.Update(ctx, func(tx *Tx) error {
		for i := range n {
			if err := tx.Put(fmt.Sprintf("k/%03d", i), item{Name: "old"}); err != nil {
				return err
			}
		}
		return tx.Put("kk/000", item{Name: "other prefix"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx *Tx) error {
		tx.Delete("k/001")
		if err := tx.Put("k/002", item{Name: "new"}); err != nil {
			return err
		}
		if err := tx.Put("k/0705", item{Name: "added"}); err != nil { // between k/070 and k/071, on the second page
			return err
		}
		if err := tx.Put("k/999", item{Name: "last"}); err != nil {
			return err
		}
		all := scanKeys(t, tx, "k/", "", "")
		want := []string{"k/000=old", "k/002=new"}
		for i := 3; i < n; i++ {
			want = append(want, fmt.Sprintf("k/%03d=old", i))
			if i == 70 {
				want = append(want, "k/0705=added")
			}
		}
		want = append(want, "k/999=last")
		if !slices.Equal(all, want) {
			t.Errorf("whole scan:\n got %v\nwant %v", all, want)
		}
		if got := scanKeys(t, tx, "k/", "k/070", "k/071"); !slices.Equal(got, []string{"k/070=old", "k/0705=added", "k/071=old"}) {
			t.Errorf("scan from k/070 stopping at k/071: %v", got)
		}
		var listed []string
		if err := tx.List("kk/", func(key string, _ []byte) error { listed = append(listed, key); return nil }); err != nil {
			return err
		}
		if !slices.Equal(listed, []string{"kk/000"}) {
			t.Errorf("List(kk/) = %v", listed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var it item
	if err := s.Get(ctx, "k/0705", &it); err != nil || it.Name != "added" {
		t.Fatalf("committed write: %+v %v", it, err)
	}
}

func TestTxScanConflicts(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, k := range []string{"r/1", "r/3", "r/5"} {
			if err := tx.Put(k, item{Name: k}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// interfere runs an update from inside another one's first run.
	interfere := func(fn func(tx *Tx) error) {
		if err := s.Update(ctx, fn); err != nil {
			t.Fatalf("interfering update: %v", err)
		}
	}
	cases := []struct {
		name      string
		stop      string // the scan of r/ stops after this key
		interfere func(tx *Tx) error
		runs      int
	}{
		{"insert into the scanned part", "r/3", func(tx *Tx) error { return tx.Put("r/2", item{}) }, 2},
		{"rewrite of a scanned key", "r/3", func(tx *Tx) error { return tx.Put("r/1", item{Name: "changed"}) }, 2},
		{"insert past where the scan stopped", "r/3", func(tx *Tx) error { return tx.Put("r/4", item{}) }, 1},
		{"insert past the end of a whole scan", "", func(tx *Tx) error { return tx.Put("r/9", item{}) }, 2},
		{"insert outside the prefix", "", func(tx *Tx) error { return tx.Put("s/1", item{}) }, 1},
	}
	for i, c := range cases {
		runs := 0
		err := s.Update(ctx, func(tx *Tx) error {
			runs++
			scanKeys(t, tx, "r/", "", c.stop)
			if runs == 1 {
				interfere(c.interfere)
			}
			return tx.Put(fmt.Sprintf("result/%d", i), item{Name: c.name})
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if runs != c.runs {
			t.Errorf("%s: update ran %d times, want %d", c.name, runs, c.runs)
		}
	}
}

func TestTxFailedReadFailsUpdate(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errFn := errors.New("decided from a failed read")
	err := s.Update(ctx, func(tx *Tx) error {
		if tx.Exists("x") {
			return nil
		}
		return errFn
	})
	if err == nil || errors.Is(err, errFn) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a failed read = %v, want the read's error", err)
	}
}

// TestTxWriteConflicts checks that a key written (not read) by a transaction
// and changed by another one after its snapshot makes it run again.
func TestTxWriteConflicts(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	runs := 0
	err := s.Update(ctx, func(tx *Tx) error {
		runs++
		tx.Exists("a") // fixes the snapshot
		if runs == 1 {
			if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("b", item{Name: "other"}) }); err != nil {
				return err
			}
		}
		return tx.Put("b", item{Name: "mine"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var it item
	if err := s.Get(ctx, "b", &it); err != nil || it.Name != "mine" || runs != 2 {
		t.Fatalf("b = %+v (%v) after %d runs; want mine after 2", it, err, runs)
	}
}
