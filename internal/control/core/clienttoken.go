package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"

	"strait/internal/model"
	"strait/internal/store"
)

// Client tokens make create operations idempotent: a retry with the same token and
// the same parameters returns the resource the first call created; the same token
// with other parameters is IdempotentParameterMismatch. Each token is recorded, per
// account and kind, with a hash of the parameters and the ID it produced.

type clientToken struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// TokenKey is the store key of a client token.
func TokenKey(acct, kind, token string) string {
	return "clienttoken/" + acct + "/" + kind + "/" + token
}

// TokenHash hashes an input struct without its ClientToken field.
func TokenHash(in any) (string, error) {
	v := reflect.ValueOf(in)
	cp := reflect.New(v.Type()).Elem()
	cp.Set(v)
	if f := cp.FieldByName("ClientToken"); f.IsValid() {
		f.SetString("")
	}
	b, err := json.Marshal(cp.Interface())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// CheckToken refuses a client token longer than AWS allows.
func CheckToken(token string) error {
	if len(token) > 64 {
		return model.Invalid("Value (%s) for parameter clientToken is invalid: a client token has at most 64 characters", token)
	}
	return nil
}

// Mismatch is the error of a token reused with other parameters.
func Mismatch(token string) error {
	return model.WithReason(model.ErrConflict, model.ReasonTokenMismatch, "The client token '%s' was already used with different parameters", token)
}

// TokenUse is one create call's client token with the hash of its parameters,
// recorded per account and kind.
type TokenUse struct {
	Acct, Kind, Token, Hash string
}

// Idempotent begins a create call that takes a client token: it hashes the
// parameters in (without ClientToken), checks the token and returns the resource
// an earlier call with the same token and parameters created, when it still
// exists (found). A new or empty token finds nothing.
func Idempotent[T any](ctx context.Context, c *Base, acct, kind, token string, in any) (u TokenUse, prev T, found bool, err error) {
	hash, err := TokenHash(in)
	if err != nil {
		return u, prev, false, err
	}
	u = TokenUse{Acct: acct, Kind: kind, Token: token, Hash: hash}
	if token == "" {
		return u, prev, false, nil
	}
	if err := CheckToken(token); err != nil {
		return u, prev, false, err
	}
	var t clientToken
	if err := c.st.Get(ctx, TokenKey(acct, kind, token), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return u, prev, false, nil
		}
		return u, prev, false, err
	}
	if t.Hash != hash {
		return u, prev, false, Mismatch(token)
	}
	if v, err := Get[T](ctx, c.st, kind, t.ID); err == nil {
		return u, v, true, nil
	}
	return u, prev, false, nil
}

// TxPrevious is Idempotent's lookup inside the creating transaction: when a
// concurrent call with the same token and parameters created the resource
// meanwhile, it stores that resource in *prev and reports found.
func TxPrevious[T any](tx *store.Tx, u TokenUse, prev *T) (found bool, err error) {
	if u.Token == "" {
		return false, nil
	}
	var t clientToken
	ok, err := tx.Get(TokenKey(u.Acct, u.Kind, u.Token), &t)
	if err != nil || !ok {
		return false, err
	}
	if t.Hash != u.Hash {
		return false, Mismatch(u.Token)
	}
	v, err := TxGet[T](tx, u.Kind, t.ID)
	if err != nil {
		return false, nil
	}
	*prev = v
	return true, nil
}

// Record stores the token, inside the creating transaction, with the ID it produced.
func (u TokenUse) Record(tx *store.Tx, id string) error {
	if u.Token == "" {
		return nil
	}
	return tx.Put(TokenKey(u.Acct, u.Kind, u.Token), clientToken{ID: id, Hash: u.Hash})
}
