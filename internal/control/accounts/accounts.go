// Package accounts holds the tenants of a region and their access keys: creating
// an account with its first key, listing accounts, and looking a key up for
// request authentication.
package accounts

import (
	"context"
	"errors"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// CreateAccount creates an account (with the given 12-digit ID, or a random one when
// empty) and its first access key.
func (c *Accounts) CreateAccount(ctx context.Context, id string) (model.Account, model.AccessKey, error) {
	if id == "" {
		id = core.RandomString("0123456789", 12)
	}
	if !model.AccountPattern.MatchString(id) {
		return model.Account{}, model.AccessKey{}, model.Invalid("An account ID is 12 digits, not %q", id)
	}
	acct := model.Account{ID: id, Created: c.Now().UTC()}
	k := newAccessKey(id, acct.Created)
	err := c.Update(ctx, func(tx *store.Tx) error {
		if tx.Exists(core.Key(model.KindAccount, id)) {
			return model.Duplicate(model.KindAccount, id, "Account %s already exists: issue another access key for it with `strait account create-key %s`", id, id)
		}
		if err := tx.Put(core.Key(model.KindAccount, id), acct); err != nil {
			return err
		}
		return tx.Put(core.Key("accesskey", k.ID), k)
	})
	return acct, k, err
}

// Accounts lists every account.
func (c *Accounts) Accounts(ctx context.Context) ([]model.Account, error) {
	return core.List[model.Account](ctx, c.Store(), model.KindAccount)
}

// AccessKey looks up an access key by ID.
func (c *Accounts) AccessKey(ctx context.Context, id string) (model.AccessKey, bool, error) {
	var k model.AccessKey
	if err := c.Store().Get(ctx, core.Key("accesskey", id), &k); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return k, false, nil
		}
		return k, false, err
	}
	return k, true, nil
}

// Accounts runs the account operations.
type Accounts struct {
	*core.Base
}

// New returns the account operations over b.
func New(b *core.Base) *Accounts { return &Accounts{Base: b} }
