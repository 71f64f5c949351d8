package status

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"strait/internal/control"
	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// With replicas sharing the store, a leadership term claims an event before
// it writes its messages: an event another term claimed (its leader died or
// was deposed between writing and recording it) is not written again, and a
// deposed term writes nothing.
func TestDeliverNotificationsUnderFences(t *testing.T) {
	ctx := context.Background()
	st := controltest.OpenStore(t)
	s := New(control.New(st, control.Config{Region: "us-east-1"}))
	term := func(name string) store.Fence {
		t.Helper()
		key := st.Prefix() + "leader/" + name
		resp, err := st.Client().Put(ctx, key, name)
		if err != nil {
			t.Fatal(err)
		}
		return store.Fence{Key: key, Rev: resp.Header.Revision}
	}
	put := func(ev model.NotificationEvent) {
		t.Helper()
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.Put(core.Key(model.KindNotificationEvent, ev.ID), ev) }); err != nil {
			t.Fatal(err)
		}
	}
	outbox := func() int {
		t.Helper()
		evs, err := core.List[model.NotificationEvent](ctx, st, model.KindNotificationEvent)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	a, b := term("a"), term("b")
	dirA, dirB := t.TempDir(), t.TempDir()
	file := func(dir string) string { return filepath.Join(dir, "111111111111", "events.jsonl") }

	// Term a delivers an event of its own.
	put(testEvent())
	if err := s.DeliverNotifications(store.WithFence(ctx, a), dirA); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, file(dirA)); len(got) != 2 || outbox() != 0 {
		t.Fatalf("term a delivered %d lines, %d events left", len(got), outbox())
	}

	// An event term a claimed and never recorded: term b does not write it
	// again, and it leaves the outbox.
	claimed := testEvent()
	claimed.DeliveringBy = "other-replica:/var/lib/strait/notifications " + a.String()
	put(claimed)
	if err := s.DeliverNotifications(store.WithFence(ctx, b), dirB); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file(dirB)); !errors.Is(err, os.ErrNotExist) || outbox() != 0 {
		t.Fatalf("term b wrote an event term a claimed (%v), or left it in the outbox (%d)", err, outbox())
	}

	// An event an earlier term of this replica claimed is written by the
	// next one (into the same directory, once).
	mine := testEvent()
	mine.DeliveringBy = claimName(dirB, a)
	put(mine)
	if err := s.DeliverNotifications(store.WithFence(ctx, b), dirB); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, file(dirB)); len(got) != 2 || outbox() != 0 {
		t.Fatalf("this replica's next term delivered %d lines of its earlier term's claim, %d events left", len(got), outbox())
	}

	// A deposed term (its election key gone) claims nothing and writes nothing.
	if _, err := st.Client().Delete(ctx, a.Key); err != nil {
		t.Fatal(err)
	}
	put(testEvent())
	err := s.DeliverNotifications(store.WithFence(ctx, a), t.TempDir())
	if !errors.Is(err, store.ErrFenced) || outbox() != 1 {
		t.Fatalf("a deposed term: %v, %d events left; want ErrFenced and the event kept", err, outbox())
	}
	// Term b delivers it.
	if err := s.DeliverNotifications(store.WithFence(ctx, b), dirB); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, file(dirB)); len(got) != 4 || outbox() != 0 {
		t.Fatalf("term b delivered %d lines, %d events left", len(got), outbox())
	}
}
