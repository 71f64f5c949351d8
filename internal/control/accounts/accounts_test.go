package accounts

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
)

// newTestAccounts returns the account operations over a fresh store, with a
// clock fixed at the returned time.
func newTestAccounts(t *testing.T) (*Accounts, time.Time) {
	t.Helper()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return New(core.New(controltest.OpenStore(t), core.Config{Now: func() time.Time { return now }})), now
}

var (
	accessKeyID = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretKey   = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

// An account created with a given ID gets that ID and a first access key that
// AccessKey finds by its ID, with its secret and account.
func TestCreateAccountWithID(t *testing.T) {
	t.Parallel()
	c, now := newTestAccounts(t)
	ctx := context.Background()
	acct, key, err := c.CreateAccount(ctx, "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if acct.ID != "123456789012" || !acct.Created.Equal(now) {
		t.Fatalf("account %+v", acct)
	}
	if !accessKeyID.MatchString(key.ID) || !secretKey.MatchString(key.Secret) || key.Account != acct.ID || !key.Created.Equal(now) {
		t.Fatalf("access key %+v", key)
	}
	got, ok, err := c.AccessKey(ctx, key.ID)
	if err != nil || !ok || got != key {
		t.Fatalf("AccessKey(%s) = %+v, %v, %v; want %+v", key.ID, got, ok, err, key)
	}
	if _, ok, err := c.AccessKey(ctx, "AKIAAAAAAAAAAAAAAAAA"); ok || err != nil {
		t.Fatalf("an unknown access key: found %v, error %v", ok, err)
	}
}

// Without an ID an account gets a random 12-digit one; two such accounts differ,
// and each has its own key.
func TestCreateAccountRandomID(t *testing.T) {
	t.Parallel()
	c, _ := newTestAccounts(t)
	ctx := context.Background()
	a, ka, err := c.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	b, kb, err := c.CreateAccount(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !model.AccountPattern.MatchString(a.ID) || !model.AccountPattern.MatchString(b.ID) || a.ID == b.ID {
		t.Fatalf("random account IDs %q and %q", a.ID, b.ID)
	}
	if ka.ID == kb.ID || ka.Secret == kb.Secret || ka.Account != a.ID || kb.Account != b.ID {
		t.Fatalf("keys %+v and %+v", ka, kb)
	}
	all, err := c.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{all[0].ID, all[1].ID}
	if len(all) != 2 || !slices.Contains(ids, a.ID) || !slices.Contains(ids, b.ID) {
		t.Fatalf("Accounts() = %+v, want %s and %s", all, a.ID, b.ID)
	}
}

// An account ID that exists is a duplicate, and the failed call leaves no second
// access key behind.
func TestCreateAccountDuplicate(t *testing.T) {
	t.Parallel()
	c, _ := newTestAccounts(t)
	ctx := context.Background()
	if _, _, err := c.CreateAccount(ctx, "123456789012"); err != nil {
		t.Fatal(err)
	}
	_, key, err := c.CreateAccount(ctx, "123456789012")
	de := controltest.WantError(t, "creating an existing account", err, model.ErrDuplicate, model.KindAccount, "")
	if de.ID != "123456789012" {
		t.Fatalf("the duplicate names %q", de.ID)
	}
	if _, ok, err := c.AccessKey(ctx, key.ID); ok || err != nil {
		t.Fatalf("the refused account's key %s was stored (found %v, error %v)", key.ID, ok, err)
	}
	if all, err := c.Accounts(ctx); err != nil || len(all) != 1 {
		t.Fatalf("after the duplicate: %d accounts (%v), want 1", len(all), err)
	}
}

// An ID that is not 12 digits is refused and nothing is stored.
func TestCreateAccountMalformedID(t *testing.T) {
	t.Parallel()
	c, _ := newTestAccounts(t)
	ctx := context.Background()
	for _, bad := range []string{"12345678901", "1234567890123", "12345678901a", " 123456789012", "abcdefghijkl"} {
		_, _, err := c.CreateAccount(ctx, bad)
		controltest.WantError(t, "account ID "+bad, err, model.ErrInvalid, "", "")
	}
	if all, err := c.Accounts(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after malformed IDs: %+v (%v), want no accounts", all, err)
	}
}
