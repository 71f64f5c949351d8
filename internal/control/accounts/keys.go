package accounts

import (
	"context"
	"slices"
	"strings"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateAccessKey issues another access key for an existing account.
func (c *Accounts) CreateAccessKey(ctx context.Context, acct string) (model.AccessKey, error) {
	if !model.AccountPattern.MatchString(acct) {
		return model.AccessKey{}, model.Invalid("An account ID is 12 digits, not %q", acct)
	}
	k := newAccessKey(acct, c.Now().UTC())
	err := c.Update(ctx, func(tx *store.Tx) error {
		if !tx.Exists(core.Key(model.KindAccount, acct)) {
			return model.NotFound(model.KindAccount, acct)
		}
		return tx.Put(core.Key("accesskey", k.ID), k)
	})
	return k, err
}

// AccessKeys lists every access key, by account and then creation time.
func (c *Accounts) AccessKeys(ctx context.Context) ([]model.AccessKey, error) {
	keys, err := core.List[model.AccessKey](ctx, c.Store(), "accesskey")
	slices.SortFunc(keys, func(a, b model.AccessKey) int {
		if n := strings.Compare(a.Account, b.Account); n != 0 {
			return n
		}
		if n := a.Created.Compare(b.Created); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys, err
}

// newAccessKey is a fresh random key of acct.
func newAccessKey(acct string, created time.Time) model.AccessKey {
	return model.AccessKey{
		ID:      "AKIA" + core.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
		Secret:  core.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
		Account: acct, Created: created,
	}
}
