package status

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"strait/internal/store"
)

// inBatches settles every id exactly once, in order, in chunks of at most
// settleBatch, halving a chunk the store refuses as too many operations until
// it fits; other errors stop it at once.
func TestInBatchesSplitsTooLargeTransactions(t *testing.T) {
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf("vpce-%d", i))
	}
	const fits = 20 // the most ids the fake store takes in one transaction
	var settled []string
	var sizes []int
	err := inBatches(ids, func(chunk []string) error {
		if len(chunk) > fits {
			return fmt.Errorf("%w (fake)", store.ErrTooManyOps)
		}
		settled = append(settled, chunk...)
		sizes = append(sizes, len(chunk))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(settled, ids) {
		t.Fatalf("settled %d ids (%v...), want all %d in order", len(settled), settled[:min(3, len(settled))], len(ids))
	}
	if slices.Max(sizes) > fits || slices.Max(sizes) < fits/2 {
		t.Fatalf("chunk sizes %v: want at most %d and not split further than needed", sizes, fits)
	}

	boom := errors.New("boom")
	calls := 0
	if err := inBatches(ids, func([]string) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("other error: %v after %d calls, want boom after 1", err, calls)
	}
	if err := inBatches(ids[:1], func([]string) error { return store.ErrTooManyOps }); !errors.Is(err, store.ErrTooManyOps) {
		t.Fatalf("a single id that does not fit: %v, want ErrTooManyOps", err)
	}
}
