// Package controltest is what the tests of the operations' families share: an
// embedded store in a temporary directory, and a check of the domain error an
// operation returned (sentinel, resource kind and reason). Test support only: no
// non-test code imports it.
package controltest

import (
	"context"
	"errors"
	"testing"
	"time"

	"strait/internal/model"
	"strait/internal/store"
)

// OpenStore opens an embedded store in a temporary directory, closed when the
// test ends.
func OpenStore(t testing.TB) *store.Store {
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
	return st
}

// WantError fails the test unless err is a *model.Error matching sentinel, with
// exactly the given resource kind and reason ("" for none); it returns the error
// for further checks. what names the call in the failure message.
func WantError(t testing.TB, what string, err, sentinel error, kind string, reason model.Reason) *model.Error {
	t.Helper()
	var de *model.Error
	if !errors.As(err, &de) {
		t.Fatalf("%s: got error %v (%T), want a domain error %v", what, err, err, sentinel)
	}
	if !errors.Is(err, sentinel) || de.Kind != kind || de.Reason != reason {
		t.Fatalf("%s: got %v (kind %q, reason %q, message %q), want %v (kind %q, reason %q)",
			what, de.Err, de.Kind, de.Reason, de.Msg, sentinel, kind, reason)
	}
	return de
}

// Must takes an operation's results and returns a function that gives its
// value, failing the test when the operation failed:
// v := controltest.Must(c.CreateVpc(ctx, acct, in))(t).
func Must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
