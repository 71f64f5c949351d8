package leader

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"strait/internal/store"
)

// freeURL is http://127.0.0.1:PORT with a port free at the time of the call.
func freeURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// The replicas as they run: each campaigns through its own embedded etcd
// member's in-process client. When the leader's process dies (its store, and
// with it its etcd member, closed without resigning), another replica leads
// once the lease expired, and its fenced writes commit through its member.
func TestElectionOnEmbeddedCluster(t *testing.T) {
	t.Parallel()
	const n = 3
	members := make([]store.Member, n)
	var initial []string
	for i := range members {
		members[i] = store.Member{Name: fmt.Sprintf("s%d", i), PeerURL: freeURL(t)}
		initial = append(initial, members[i].Name+"="+members[i].PeerURL)
	}
	stores := make([]*store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range members {
		members[i].InitialCluster = strings.Join(initial, ",")
		dir := t.TempDir()
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			stores[i], errs[i] = store.Open(ctx, store.Config{DataDir: dir, Member: members[i]})
		})
	}
	wg.Wait()
	for i, st := range stores {
		if st != nil {
			t.Cleanup(func() { st.Close() })
		}
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}

	l := &leaders{t: t, running: map[string]store.Fence{}}
	cs := map[string]*candidate{}
	for i, st := range stores {
		c := startCandidate(t, l, members[i].Name, st.Client(), st.Prefix()+"leader", testTTL, nil)
		cs[c.name] = c
	}
	obs := stores[0].Client()
	first := waitLeader(t, l, cs, obs)
	var idx int
	for i, m := range members {
		if m.Name == first.name {
			idx = i
		}
	}
	_, old := l.leader()
	obs = stores[(idx+1)%n].Client()

	start := time.Now()
	stores[idx].Close() // the leader's process dies: its member and its session with it
	second := waitLeader(t, l, cs, obs, first.name)
	t.Logf("%s took over from %s (its member closed) after %v (TTL %v)", second.name, first.name, time.Since(start), testTTL)

	var st *store.Store
	for i, m := range members {
		if m.Name == second.name {
			st = stores[i]
		}
	}
	_, cur := l.leader()
	ctx := context.Background()
	if err := st.Update(store.WithFence(ctx, cur), func(tx *store.Tx) error { return tx.Put("settled", second.name) }); err != nil {
		t.Fatalf("the new leader's fenced update: %v", err)
	}
	if err := st.Update(store.WithFence(ctx, old), func(tx *store.Tx) error { return tx.Put("settled", first.name) }); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("an update under the dead leader's fence: %v; want ErrFenced", err)
	}
}
