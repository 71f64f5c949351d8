package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"strait/internal/store"
)

// testTTL is the session TTL of the candidates: etcd's minimum, so that a
// dead leader is replaced quickly.
const testTTL = 2 * time.Second

const electionKey = "/strait/leader"

// startEtcd runs an etcd server on loopback ports for the test and returns its
// client endpoint.
func startEtcd(t *testing.T) string {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	loop := []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = loop, loop
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = loop, loop
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd not ready")
	}
	return "http://" + e.Clients[0].Addr().String()
}

func newClient(t *testing.T, ep string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// candidate is one replica campaigning with its own etcd client.
type candidate struct {
	name string
	cli  *clientv3.Client
	el   *Elector
	stop context.CancelFunc
	done chan struct{} // closed when Run returned
}

// leaders records which candidates' work runs, and fails the test if two
// ever run at once.
type leaders struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]store.Fence
}

func (l *leaders) work(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		f, ok := store.FenceFrom(ctx)
		if !ok {
			l.t.Errorf("%s: the leader's context carries no fence", name)
		}
		l.mu.Lock()
		if len(l.running) > 0 {
			l.t.Errorf("%s leads while %v still do", name, l.running)
		}
		l.running[name] = f
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		delete(l.running, name)
		l.mu.Unlock()
	}
}

// leader returns the only candidate whose work runs ("" if none).
func (l *leaders) leader() (string, store.Fence) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n, f := range l.running {
		return n, f
	}
	return "", store.Fence{}
}

// startCandidates starts n candidates on etcd at ep.
func startCandidates(t *testing.T, ep string, l *leaders, n int) map[string]*candidate {
	return startCandidatesTTL(t, ep, l, n, testTTL)
}

// startCandidatesTTL is startCandidates with a session TTL of its own.
func startCandidatesTTL(t *testing.T, ep string, l *leaders, n int, ttl time.Duration) map[string]*candidate {
	cs := map[string]*candidate{}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for i := range n {
		c := startCandidate(t, l, fmt.Sprintf("replica-%d", i), newClient(t, ep), electionKey, ttl, log)
		cs[c.name] = c
	}
	return cs
}

// startCandidate runs an Elector named name on cli in the election at key,
// its work recorded in l, until the test ends.
func startCandidate(t *testing.T, l *leaders, name string, cli *clientv3.Client, key string, ttl time.Duration, log *slog.Logger) *candidate {
	c := &candidate{name: name, cli: cli, done: make(chan struct{})}
	c.el = New(Config{Client: cli, Key: key, Name: name, TTL: ttl, Logger: log})
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go func() {
		defer close(c.done)
		c.el.Run(ctx, l.work(name))
	}()
	t.Cleanup(func() { stop(); <-c.done })
	return c
}

// waitFor waits until cond holds, polling.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("still not %s after a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLeader waits until one candidate other than the ones given leads and
// Current names it, and returns it.
func waitLeader(t *testing.T, l *leaders, cs map[string]*candidate, cli *clientv3.Client, not ...string) *candidate {
	t.Helper()
	var name string
	waitFor(t, "led", func() bool {
		name, _ = l.leader()
		for _, n := range not {
			if name == n {
				return false
			}
		}
		if name == "" || !cs[name].el.Leading() {
			return false
		}
		cur, err := Current(context.Background(), cli, electionKey)
		return err == nil && cur == name
	})
	return cs[name]
}

// Three candidates: one leads; when its client dies without resigning
// another leads once its lease expired; when that one resigns (its Run's
// context ends), the third leads at once: the resigned leader's key is gone
// when Run returns. Never do two lead at a time.
func TestElection(t *testing.T) {
	t.Parallel()
	ep := startEtcd(t)
	obs := newClient(t, ep)
	l := &leaders{t: t, running: map[string]store.Fence{}}
	cs := startCandidates(t, ep, l, 3)

	first := waitLeader(t, l, cs, obs)
	for _, c := range cs {
		if c != first && c.el.Leading() {
			t.Fatalf("%s and %s both lead", first.name, c.name)
		}
	}
	start := time.Now()
	first.cli.Close() // dies: no resignation, the lease expires
	second := waitLeader(t, l, cs, obs, first.name)
	t.Logf("%s took over from %s (killed) after %v (TTL %v)", second.name, first.name, time.Since(start), testTTL)
	// The candidates are the live replicas, the leader first.
	waitFor(t, "the dead candidate gone from the candidates", func() bool {
		names, err := Candidates(context.Background(), obs, electionKey)
		return err == nil && len(names) == 2 && names[0] == second.name && !slices.Contains(names, first.name)
	})
	if first.el.Leading() {
		t.Fatalf("%s still thinks it leads", first.name)
	}

	// The second resigns: the third leads at once.
	_, fence := l.leader()
	start = time.Now()
	second.stop()
	<-second.done
	resp, err := obs.Get(context.Background(), fence.Key)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("after resigning, %s's election key: %v, %v; want it deleted", second.name, resp, err)
	}
	third := waitLeader(t, l, cs, obs, first.name, second.name)
	t.Logf("%s took over from %s (resigned) after %v", third.name, second.name, time.Since(start))
}

// Depose leaves a live leader alone (it keeps its lease alive) and ends a
// dead one's leadership before its lease expires.
func TestDepose(t *testing.T) {
	t.Parallel()
	ep := startEtcd(t)
	obs := newClient(t, ep)
	l := &leaders{t: t, running: map[string]store.Fence{}}
	cs := startCandidatesTTL(t, ep, l, 2, 3*time.Second)
	second := waitLeader(t, l, cs, obs)
	// A live leader keeps its lease alive: it is not deposed.
	cur, ok, err := CurrentLeader(context.Background(), obs, electionKey)
	if err != nil || !ok || cur.Name != second.name {
		t.Fatalf("the current leader: %+v %v %v, want %s", cur, ok, err, second.name)
	}
	if ok, err := Depose(context.Background(), obs, cur); err != nil || ok {
		t.Fatalf("deposing a live leader: %v, %v; want it left alone", ok, err)
	}
	// Its process stopped (its keepalives stop with its client): deposed once
	// its lease has a second left, before it expires; the third leads.
	second.cli.Close()
	start := time.Now()
	waitFor(t, "the dead leader deposed", func() bool {
		ok, err := Depose(context.Background(), obs, cur)
		return err == nil && ok
	})
	third := waitLeader(t, l, cs, obs, second.name)
	t.Logf("%s took over from %s (deposed) after %v", third.name, second.name, time.Since(start))
	if second.el.Leading() {
		t.Fatalf("%s still thinks it leads", second.name)
	}

}

// Two candidates, and a leader deposed behind its back (its lease revoked,
// as when it expires before the leader notices): the other one leads, and an
// Update under the deposed leader's fence fails with ErrFenced and writes
// nothing, while the new leader's fenced updates commit.
func TestFence(t *testing.T) {
	t.Parallel()
	ep := startEtcd(t)
	obs := newClient(t, ep)
	st, err := store.Open(context.Background(), store.Config{Endpoints: []string{ep}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l := &leaders{t: t, running: map[string]store.Fence{}}
	cs := startCandidates(t, ep, l, 2)
	ctx := context.Background()

	first := waitLeader(t, l, cs, obs)
	_, old := l.leader()
	if err := st.Update(store.WithFence(ctx, old), func(tx *store.Tx) error { return tx.Put("settled", first.name) }); err != nil {
		t.Fatalf("fenced update by the leader: %v", err)
	}

	resp, err := obs.Get(ctx, old.Key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("leader's key: %v, %v", resp, err)
	}
	if _, err := obs.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	second := waitLeader(t, l, cs, obs, first.name)
	waitFor(t, "noticed by the deposed leader", func() bool { return !first.el.Leading() })

	err = st.Update(store.WithFence(ctx, old), func(tx *store.Tx) error { return tx.Put("settled", "twice") })
	t.Logf("update under the deposed leader's fence: %v", err)
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("update under the deposed leader's fence: %v; want ErrFenced", err)
	}
	var got string
	if err := st.Get(ctx, "settled", &got); err != nil || got != first.name {
		t.Fatalf("settled = %q, %v; want %q (the fenced update must write nothing)", got, err, first.name)
	}
	_, cur := l.leader()
	if err := st.Update(store.WithFence(ctx, cur), func(tx *store.Tx) error { return tx.Put("settled", second.name) }); err != nil {
		t.Fatalf("fenced update by the new leader: %v", err)
	}
	// A conflict under a fence that holds is still a conflict, not a fence
	// failure: the update runs again and commits.
	runs := 0
	err = st.Update(store.WithFence(ctx, cur), func(tx *store.Tx) error {
		runs++
		var v string
		if _, err := tx.Get("settled", &v); err != nil {
			return err
		}
		if runs == 1 {
			if _, err := obs.Put(ctx, store.DefaultPrefix+"settled", `"meanwhile"`); err != nil {
				return err
			}
		}
		return tx.Put("settled", v+"+1")
	})
	if err != nil || runs != 2 {
		t.Fatalf("fenced update with a conflict: %v after %d runs; want success after 2", err, runs)
	}
	if err := st.Get(ctx, "settled", &got); err != nil || got != "meanwhile+1" {
		t.Fatalf("settled = %q, %v; want meanwhile+1", got, err)
	}
}
