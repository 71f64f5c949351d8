package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Tx is a transaction in progress inside Store.Update. Reads see one snapshot of
// the store (the revision of the transaction's first read) plus the
// transaction's own writes; writes are buffered and committed atomically when
// the update function returns nil, provided nothing the transaction read (a
// key, or a range scanned with Scan) and nothing it writes was changed by
// another transaction since that snapshot. A Tx must not be used after its
// update function returns.
//
// Absent keys are recognised by an empty value: the store only ever writes
// JSON, which is never empty.
type Tx struct {
	ctx    context.Context
	cli    *clientv3.Client
	prefix string

	rev    int64              // snapshot revision; 0 until the first read
	reads  map[string]readKey // full key → what the snapshot held
	scans  []scanned          // ranges scanned, as far as they were looked at
	writes map[string]*string // full key → value to put; nil deletes the key
	err    error              // the first failed read: the update fails with it
	fence  *Fence             // nil, or what the commit requires besides (WithFence)
}

// readKey is a key read at the snapshot: its value ("" if absent) and the
// revision that last wrote it (0 if absent).
type readKey struct {
	val []byte
	mod int64
}

// scanned is a key range [from, end) read at the snapshot.
type scanned struct{ from, end string }

// scanPageSize bounds the keys fetched per request by Scan: scans usually stop
// after the first few keys.
const scanPageSize = 64

func newTx(ctx context.Context, cli *clientv3.Client, prefix string) *Tx {
	return &Tx{ctx: ctx, cli: cli, prefix: prefix, reads: map[string]readKey{}, writes: map[string]*string{}}
}

// readOpts are the options of a read at the snapshot; the first read (no
// snapshot yet) is linearizable and fixes it.
func (tx *Tx) readOpts(more ...clientv3.OpOption) []clientv3.OpOption {
	if tx.rev != 0 {
		more = append(more, clientv3.WithRev(tx.rev), clientv3.WithSerializable())
	}
	return more
}

// get returns the value of a full key at the snapshot, or the transaction's own
// write of it; "" if absent.
func (tx *Tx) get(full string) ([]byte, error) {
	if w, ok := tx.writes[full]; ok {
		if w == nil {
			return nil, nil
		}
		return []byte(*w), nil
	}
	if r, ok := tx.reads[full]; ok {
		return r.val, nil
	}
	if tx.err != nil {
		return nil, tx.err
	}
	resp, err := tx.cli.Get(tx.ctx, full, tx.readOpts()...)
	if err != nil {
		tx.err = fmt.Errorf("store: get %q: %w", full[len(tx.prefix):], err)
		return nil, tx.err
	}
	if tx.rev == 0 {
		tx.rev = resp.Header.Revision
	}
	var r readKey
	if len(resp.Kvs) > 0 {
		r = readKey{val: resp.Kvs[0].Value, mod: resp.Kvs[0].ModRevision}
	}
	tx.reads[full] = r
	return r.val, nil
}

// Get decodes the JSON value at key into v. It reports false, nil if the key
// is absent.
func (tx *Tx) Get(key string, v any) (bool, error) {
	val, err := tx.get(tx.prefix + key)
	if err != nil {
		return false, err
	}
	if len(val) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(val, v); err != nil {
		return true, fmt.Errorf("store: decode %q: %w", key, err)
	}
	return true, nil
}

// Exists reports whether key is present. If the key cannot be read, Exists
// reports false and the update fails with the read's error.
func (tx *Tx) Exists(key string) bool {
	val, err := tx.get(tx.prefix + key)
	return err == nil && len(val) > 0
}

// Put JSON-encodes v and stores it at key when the transaction commits.
func (tx *Tx) Put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", key, err)
	}
	s := string(b)
	tx.writes[tx.prefix+key] = &s
	return nil
}

// Delete removes key when the transaction commits. Deleting an absent key is
// not an error.
func (tx *Tx) Delete(key string) {
	tx.writes[tx.prefix+key] = nil
}

// Scan calls fn for the keys that start with prefix and are not below start (a
// key; "" starts at prefix), in key order, with their values at the snapshot
// or as this transaction wrote them, until fn returns false or an error (which
// Scan returns unchanged). Keys are fetched in pages, so a scan that stops
// early reads little.
//
// The part of the range fn looked at (up to the key it stopped at, or all of
// it) joins the transaction's reads: a key another transaction creates or
// rewrites there after the snapshot makes the commit conflict and the update
// run again. A key another transaction only deletes from the range is not
// detected (etcd cannot compare a range's key count), so callers that must not
// miss deletions also read a key that every deleter writes — for example a
// record holding the number of keys in the range.
func (tx *Tx) Scan(prefix, start string, fn func(key string, val []byte) (bool, error)) error {
	if tx.err != nil {
		return tx.err
	}
	from := tx.prefix + max(prefix, start)
	end := clientv3.GetPrefixRangeEnd(tx.prefix + prefix)
	var own []string // this transaction's writes in the range, in key order
	for k := range tx.writes {
		if k >= from && k < end {
			own = append(own, k)
		}
	}
	slices.Sort(own)
	seen := from // the range looked at so far is [from, seen)
	defer func() {
		if seen > from {
			tx.scans = append(tx.scans, scanned{from: from, end: seen})
		}
	}()
	// visit hands one key to fn; ok is false when the scan must stop.
	visit := func(k string, val []byte) (ok bool, err error) {
		seen = k + "\x00"
		if len(val) == 0 {
			return true, nil
		}
		return fn(k[len(tx.prefix):], val)
	}
	// ownUpTo visits this transaction's writes below limit ("" : all of them).
	ownUpTo := func(limit string) (bool, error) {
		for len(own) > 0 && (limit == "" || own[0] < limit) {
			k := own[0]
			own = own[1:]
			var val []byte
			if w := tx.writes[k]; w != nil {
				val = []byte(*w)
			}
			if ok, err := visit(k, val); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	cursor := from
	for {
		resp, err := tx.cli.Get(tx.ctx, cursor, tx.readOpts(clientv3.WithRange(end), clientv3.WithLimit(scanPageSize))...)
		if err != nil {
			tx.err = fmt.Errorf("store: scan %q: %w", prefix, err)
			return tx.err
		}
		if tx.rev == 0 {
			tx.rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			k := string(kv.Key)
			if ok, err := ownUpTo(k); !ok || err != nil {
				return err
			}
			if _, mine := tx.writes[k]; mine {
				own = own[1:] // own[0] == k: the transaction's write replaces the stored value
				var val []byte
				if w := tx.writes[k]; w != nil {
					val = []byte(*w)
				}
				if ok, err := visit(k, val); !ok || err != nil {
					return err
				}
				continue
			}
			if ok, err := visit(k, kv.Value); !ok || err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		cursor = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if ok, err := ownUpTo(""); !ok || err != nil {
		return err
	}
	seen = end
	return nil
}

// List calls fn for every key that starts with prefix, in key order, like Scan
// over the whole prefix (and with its conflict rules).
func (tx *Tx) List(prefix string, fn func(key string, val []byte) error) error {
	return tx.Scan(prefix, "", func(key string, val []byte) (bool, error) {
		return true, fn(key, val)
	})
}

// commit writes the transaction's writes if nothing it read or writes changed
// since its snapshot; it reports whether it did.
func (tx *Tx) commit() (bool, error) {
	if len(tx.writes) == 0 {
		return true, nil // every read was at one snapshot: nothing to check
	}
	var cmps []clientv3.Cmp
	for k, r := range tx.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", r.mod))
	}
	ops := make([]clientv3.Op, 0, len(tx.writes))
	for k, w := range tx.writes {
		if _, read := tx.reads[k]; !read && tx.rev != 0 {
			// A key that was read is already compared (and was at most at tx.rev).
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "<", tx.rev+1))
		}
		if w == nil {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, *w))
		}
	}
	for _, s := range tx.scans {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.from), "<", tx.rev+1).WithRange(s.end))
	}
	if tx.fence != nil {
		return tx.commitFenced(cmps, ops)
	}
	resp, err := tx.cli.Txn(tx.ctx).If(cmps...).Then(ops...).Commit()
	if errors.Is(err, rpctypes.ErrTooManyOps) {
		return false, fmt.Errorf("%w (%d comparisons, %d operations)", ErrTooManyOps, len(cmps), len(ops))
	}
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// commitFenced is commit under a fence: the transaction's own comparisons and
// writes are nested in one that first compares the fence, so that a failed
// fence (ErrFenced) is told apart from a conflict.
func (tx *Tx) commitFenced(cmps []clientv3.Cmp, ops []clientv3.Op) (bool, error) {
	inner := clientv3.OpTxn(cmps, ops, nil)
	resp, err := tx.cli.Txn(tx.ctx).If(tx.fence.Cmp()).Then(inner).Commit()
	if errors.Is(err, rpctypes.ErrTooManyOps) {
		return false, fmt.Errorf("%w (%d comparisons, %d operations)", ErrTooManyOps, len(cmps)+1, len(ops)+1)
	}
	if err != nil {
		return false, err
	}
	if !resp.Succeeded {
		return false, fmt.Errorf("%w (fence %s)", ErrFenced, tx.fence)
	}
	return resp.Responses[0].GetResponseTxn().Succeeded, nil
}
