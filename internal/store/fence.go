package store

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrFenced is wrapped by the error of an Update whose Fence no longer holds:
// the leadership the writes depend on has passed to another replica (or
// lapsed). Nothing was written.
var ErrFenced = errors.New("store: fenced: this replica no longer holds the leadership the write depends on")

// A Fence is a condition that every write made under it requires: the etcd
// key Key (a full key, store prefix included) still exists with create
// revision Rev. A leader's election key is such a key (package leader): it is
// deleted when the leader resigns or its session's lease expires, and a new
// leader's key has another create revision, so a deposed leader that has not
// noticed yet cannot write.
type Fence struct {
	Key string
	Rev int64
}

// Cmp is the comparison that holds while the fence does, for callers that
// write with their own etcd transactions.
func (f Fence) Cmp() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Rev)
}

func (f Fence) String() string { return fmt.Sprintf("%s@%d", f.Key, f.Rev) }

type fenceKey struct{}

// WithFence returns ctx carrying f: every Store.Update under it commits only
// while f holds.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
