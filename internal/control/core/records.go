package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"slices"

	"strait/internal/model"
	"strait/internal/store"
)

// Key is the store key of a resource.
func Key(kind, id string) string { return kind + "/" + id }

// Get reads one resource of kind; a missing key is model.NotFound.
func Get[T any](ctx context.Context, st *store.Store, kind, id string) (T, error) {
	var v T
	if err := st.Get(ctx, Key(kind, id), &v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return v, model.NotFound(kind, id)
		}
		return v, err
	}
	return v, nil
}

// GetOwned reads one of the account's resources of kind: a malformed ID fails as
// model.CheckID says, and another account's resource is NotFound.
func GetOwned[T any](ctx context.Context, st *store.Store, acct, kind, prefix, id string, ownerOf func(T) string) (T, error) {
	var zero T
	if err := model.CheckID(kind, prefix, id); err != nil {
		return zero, err
	}
	v, err := Get[T](ctx, st, kind, id)
	if err == nil && ownerOf(v) != acct {
		return zero, model.NotFound(kind, id)
	}
	return v, err
}

// TxGet reads one resource of kind inside a transaction.
func TxGet[T any](tx *store.Tx, kind, id string) (T, error) {
	var v T
	ok, err := tx.Get(Key(kind, id), &v)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, model.NotFound(kind, id)
	}
	return v, nil
}

// List reads every resource of kind, in ID order.
func List[T any](ctx context.Context, st *store.Store, kind string) ([]T, error) {
	var out []T
	err := st.List(ctx, kind+"/", func(_ string, val []byte) error {
		var v T
		if err := json.Unmarshal(val, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// FilterOwner keeps the resources of one account.
func FilterOwner[T any](items []T, account string, ownerOf func(T) string) []T {
	out := items[:0]
	for _, it := range items {
		if ownerOf(it) == account {
			out = append(out, it)
		}
	}
	return out
}

// SortedKeys returns the keys of a map in order.
func SortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// IsNotFound reports a missing store key or a NotFound domain error.
func IsNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, model.ErrNotFound)
}

// IsDomainError reports an error meant for the client (a *model.Error).
func IsDomainError(err error) bool {
	var de *model.Error
	return errors.As(err, &de)
}

// ItemError is the failure of one item of a batch operation (DeleteVpcEndpoints,
// AcceptVpcEndpointConnections, …); the other items may have succeeded.
type ItemError struct {
	ID  string
	Err error
}

// EachID runs f on each distinct ID, in first-seen order. A domain error fails
// that item only; any other error stops the batch and is returned.
func EachID(ids []string, f func(id string) error) ([]ItemError, error) {
	var failed []ItemError
	for _, id := range Dedupe(ids) {
		err := f(id)
		if err == nil {
			continue
		}
		if !IsDomainError(err) {
			return nil, err
		}
		failed = append(failed, ItemError{ID: id, Err: err})
	}
	return failed, nil
}

// Dedupe returns the distinct values of a list, in first-seen order.
func Dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RandomString draws n characters of alphabet from the system's secure random source.
func RandomString(alphabet string, n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("core: reading random bytes: " + err.Error())
		}
		out[i] = alphabet[x.Int64()]
	}
	return string(out)
}

// AddTags adds (or overwrites) tags on a resource's tags; more than limit tags
// after that is the error of tooMany.
func AddTags(have, add model.Tags, limit int, tooMany func() error) (model.Tags, error) {
	if have == nil {
		have = model.Tags{}
	}
	for k, v := range add {
		have[k] = v
	}
	if len(have) > limit {
		return nil, tooMany()
	}
	return have, nil
}
