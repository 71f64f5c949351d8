package server_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/server"
	"strait/internal/store"
	"strait/internal/testenv"
)

// A --forwarding other than kernel or relay is refused before the server
// changes anything: no data directory is created.
func TestForwardingFlagRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := server.Start(testenv.Ctx(t), server.Config{DataDir: dir, Listen: "127.0.0.1:0", Forwarding: "fast"})
	if err == nil || !strings.Contains(err.Error(), "--forwarding") || !strings.Contains(err.Error(), "kernel or relay") {
		t.Fatalf("Start with --forwarding fast: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the refused start created %s (%v)", dir, err)
	}
}

// A VPC stored by an earlier version (no transit address) has one once the
// server has started, and keeps it across another restart.
func TestTransitBackfillAtStart(t *testing.T) {
	dir := t.TempDir()
	ctx := testenv.Ctx(t)
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	old := model.Vpc{ID: "vpc-0123456789abcdef0", Owner: "123456789012", CIDR: "10.9.0.0/16", State: "available", InstanceTenancy: "default"}
	err = st.Update(ctx, func(tx *store.Tx) error { return tx.Put(core.Key(model.KindVpc, old.ID), old) })
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	transit := func() string {
		t.Helper()
		env := testenv.StartIn(t, dir)
		defer env.Stop()
		v, err := env.Server.Control().Vpc(context.Background(), old.Owner, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := netip.ParseAddr(v.TransitIP); err != nil || !model.TransitRange.Contains(a) || model.TransitFixed.Contains(a) {
			t.Fatalf("after the start VPC %s has transit address %q", old.ID, v.TransitIP)
		}
		return v.TransitIP
	}
	first := transit()
	if again := transit(); again != first {
		t.Fatalf("transit address %s changed to %s across a restart", first, again)
	}
}
