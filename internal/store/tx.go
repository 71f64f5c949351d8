package store

import (
	"encoding/json"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// Tx is a transaction in progress inside Store.Update. Reads see a consistent
// snapshot plus the transaction's own writes; writes are buffered and
// committed atomically when the update function returns nil. A Tx must not be
// used after its update function returns.
//
// Absent keys are recognised by an empty value: the store only ever writes
// JSON, which is never empty.
type Tx struct {
	stm    concurrency.STM
	prefix string
}

// Get decodes the JSON value at key into v. It reports false, nil if the key
// is absent.
func (tx *Tx) Get(key string, v any) (bool, error) {
	val := tx.stm.Get(tx.prefix + key)
	if val == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(val), v); err != nil {
		return true, fmt.Errorf("store: decode %q: %w", key, err)
	}
	return true, nil
}

// Exists reports whether key is present.
func (tx *Tx) Exists(key string) bool {
	return tx.stm.Get(tx.prefix+key) != ""
}

// Put JSON-encodes v and stores it at key when the transaction commits.
func (tx *Tx) Put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", key, err)
	}
	tx.stm.Put(tx.prefix+key, string(b))
	return nil
}

// Delete removes key when the transaction commits. Deleting an absent key is
// not an error.
func (tx *Tx) Delete(key string) {
	tx.stm.Del(tx.prefix + key)
}
