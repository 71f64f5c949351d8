package control

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"

	"strait/internal/model"
	"strait/internal/store"
)

// CreateAccount creates an account (with the given 12-digit ID, or a random one when
// empty) and its first access key.
func (c *Control) CreateAccount(ctx context.Context, id string) (model.Account, model.AccessKey, error) {
	if id == "" {
		id = randomString("0123456789", 12)
	}
	if !model.AccountPattern.MatchString(id) {
		return model.Account{}, model.AccessKey{}, model.Invalid("An account ID is 12 digits, not %q", id)
	}
	acct := model.Account{ID: id, Created: c.now().UTC()}
	k := model.AccessKey{
		ID:      "AKIA" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
		Secret:  randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
		Account: id, Created: acct.Created,
	}
	err := c.update(ctx, func(tx *store.Tx) error {
		if tx.Exists(key(model.KindAccount, id)) {
			return model.Duplicate(model.KindAccount, id, "Account %s already exists", id)
		}
		if err := tx.Put(key(model.KindAccount, id), acct); err != nil {
			return err
		}
		return tx.Put(key("accesskey", k.ID), k)
	})
	return acct, k, err
}

// Accounts lists every account.
func (c *Control) Accounts(ctx context.Context) ([]model.Account, error) {
	return list[model.Account](ctx, c.st, model.KindAccount)
}

// AccessKey looks up an access key by ID.
func (c *Control) AccessKey(ctx context.Context, id string) (model.AccessKey, bool, error) {
	var k model.AccessKey
	if err := c.st.Get(ctx, key("accesskey", id), &k); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return k, false, nil
		}
		return k, false, err
	}
	return k, true, nil
}

func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("control: reading random bytes: " + err.Error())
		}
		out[i] = alphabet[x.Int64()]
	}
	return string(out)
}
