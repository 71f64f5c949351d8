package control

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

func tokenKey(acct, kind, token string) string {
	return "clienttoken/" + acct + "/" + kind + "/" + token
}

// tokenHash hashes an input struct without its ClientToken field.
func tokenHash(in any) (string, error) {
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

func checkToken(token string) error {
	if len(token) > 64 {
		return model.Coded(model.ErrInvalid, "InvalidParameterValue", "Value (%s) for parameter clientToken is invalid: a client token has at most 64 characters", token)
	}
	return nil
}

func mismatch(token string) error {
	return model.Coded(model.ErrConflict, "IdempotentParameterMismatch",
		"The client token '%s' was already used with different parameters", token)
}

// tokenUse is one create call's client token with the hash of its parameters,
// recorded per account and kind.
type tokenUse struct {
	acct, kind, token, hash string
}

// idempotent begins a create call that takes a client token: it hashes the
// parameters in (without ClientToken), checks the token and returns the resource
// an earlier call with the same token and parameters created, when it still
// exists (found). A new or empty token finds nothing.
func idempotent[T any](ctx context.Context, c *Control, acct, kind, token string, in any) (u tokenUse, prev T, found bool, err error) {
	hash, err := tokenHash(in)
	if err != nil {
		return u, prev, false, err
	}
	u = tokenUse{acct: acct, kind: kind, token: token, hash: hash}
	if token == "" {
		return u, prev, false, nil
	}
	if err := checkToken(token); err != nil {
		return u, prev, false, err
	}
	var t clientToken
	if err := c.st.Get(ctx, tokenKey(acct, kind, token), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return u, prev, false, nil
		}
		return u, prev, false, err
	}
	if t.Hash != hash {
		return u, prev, false, mismatch(token)
	}
	if v, err := get[T](ctx, c.st, kind, t.ID); err == nil {
		return u, v, true, nil
	}
	return u, prev, false, nil
}

// txPrevious is idempotent's lookup inside the creating transaction: when a
// concurrent call with the same token and parameters created the resource
// meanwhile, it stores that resource in *prev and reports found.
func txPrevious[T any](tx *store.Tx, u tokenUse, prev *T) (found bool, err error) {
	if u.token == "" {
		return false, nil
	}
	var t clientToken
	ok, err := tx.Get(tokenKey(u.acct, u.kind, u.token), &t)
	if err != nil || !ok {
		return false, err
	}
	if t.Hash != u.hash {
		return false, mismatch(u.token)
	}
	v, err := txGet[T](tx, u.kind, t.ID)
	if err != nil {
		return false, nil
	}
	*prev = v
	return true, nil
}

// record stores the token, inside the creating transaction, with the ID it produced.
func (u tokenUse) record(tx *store.Tx, id string) error {
	if u.token == "" {
		return nil
	}
	return tx.Put(tokenKey(u.acct, u.kind, u.token), clientToken{ID: id, Hash: u.hash})
}

// isNotFound reports a missing store key or a NotFound domain error.
func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, model.ErrNotFound)
}

// isDomainError reports an error meant for the client (a *model.Error).
func isDomainError(err error) bool {
	var de *model.Error
	return errors.As(err, &de)
}
