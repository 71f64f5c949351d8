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

// tokenLookup returns the ID created earlier with the same token and parameters,
// "" when the token is new (or empty).
func (c *Control) tokenLookup(ctx context.Context, acct, kind, token, hash string) (string, error) {
	if token == "" {
		return "", nil
	}
	if err := checkToken(token); err != nil {
		return "", err
	}
	var t clientToken
	if err := c.st.Get(ctx, tokenKey(acct, kind, token), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	if t.Hash != hash {
		return "", mismatch(token)
	}
	return t.ID, nil
}

// txTokenLookup is tokenLookup inside a transaction.
func txTokenLookup(tx *store.Tx, acct, kind, token, hash string) (string, error) {
	if token == "" {
		return "", nil
	}
	var t clientToken
	ok, err := tx.Get(tokenKey(acct, kind, token), &t)
	if err != nil || !ok {
		return "", err
	}
	if t.Hash != hash {
		return "", mismatch(token)
	}
	return t.ID, nil
}

// txTokenStore records a token inside a transaction.
func txTokenStore(tx *store.Tx, acct, kind, token, hash, id string) error {
	if token == "" {
		return nil
	}
	return tx.Put(tokenKey(acct, kind, token), clientToken{ID: id, Hash: hash})
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
