package network

import (
	"context"
	"testing"
	"time"

	"strait/internal/control/core"
	"strait/internal/store"
)

const testAcct = "111111111111"

// newTestNetwork opens an embedded store in a temporary directory and returns the
// network operations over it.
func newTestNetwork(t *testing.T) *Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return New(core.New(st, core.Config{}))
}
