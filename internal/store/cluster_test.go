package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterTimeout is the request timeout of the stores in these tests: short,
// so that a call without quorum ends quickly.
const clusterTimeout = 2 * time.Second

// loopbackURL returns http://127.0.0.1:PORT with a port free at the time of the
// call (members must keep their URLs across restarts, so port 0 will not do).
func loopbackURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// testMember is one embedded member of a test cluster: its data directory
// and configuration, and its store while it runs.
type testMember struct {
	dir string
	m   Member
	st  *Store
}

// newMembers returns n members of a new cluster on loopback ports, not started.
func newMembers(t *testing.T, n int) []*testMember {
	var ms []*testMember
	var initial []string
	for i := range n {
		m := Member{Name: fmt.Sprintf("m%d", i), PeerURL: loopbackURL(t), ClientURL: loopbackURL(t)}
		initial = append(initial, m.Name+"="+m.PeerURL)
		ms = append(ms, &testMember{dir: t.TempDir(), m: m})
	}
	for _, tm := range ms {
		tm.m.InitialCluster = strings.Join(initial, ",")
	}
	return ms
}

// open starts the members given (together, as a cluster's members must) and
// fails the test if any does not.
func open(t *testing.T, ms ...*testMember) {
	t.Helper()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, tm := range ms {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st, err := Open(ctx, Config{DataDir: tm.dir, Member: tm.m, RequestTimeout: clusterTimeout})
			if err != nil {
				errs[i] = err
				return
			}
			tm.st = st
			t.Cleanup(func() { st.Close() })
		})
	}
	start := time.Now()
	wg.Wait()
	t.Logf("open %d members: %v", len(ms), time.Since(start))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// stop closes a member's store.
func (tm *testMember) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("stop %s: %v", tm.m.Name, time.Since(start)) }()
	if err := tm.st.Close(); err != nil {
		t.Errorf("close %s: %v", tm.m.Name, err)
	}
	tm.st = nil
}

func put(t *testing.T, st *Store, key, val string) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx *Tx) error { return tx.Put(key, val) }); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func wantValue(t *testing.T, st *Store, key, want string) {
	t.Helper()
	var got string
	if err := st.Get(context.Background(), key, &got); err != nil || got != want {
		t.Fatalf("get %s = %q, %v; want %q", key, got, err, want)
	}
}

// Three embedded members form a cluster: a write through one is read through
// the others; it survives one member's loss; without quorum every call ends
// with ErrUnavailable saying why; members restarted from their data rejoin and
// everything written is there.
func TestCluster(t *testing.T) {
	t.Parallel()
	ms := newMembers(t, 3)
	open(t, ms...)
	put(t, ms[0].st, "a", "one")
	wantValue(t, ms[1].st, "a", "one")
	wantValue(t, ms[2].st, "a", "one")

	// The data directory stays locked while its member runs.
	if st, err := Open(context.Background(), Config{DataDir: ms[0].dir, Member: ms[0].m}); err == nil {
		st.Close()
		t.Fatal("a second Open of a running member's data dir succeeded")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}

	ms[2].stop(t)
	put(t, ms[1].st, "b", "two")
	wantValue(t, ms[0].st, "b", "two")

	ms[1].stop(t)
	// Every kind of call ends with ErrUnavailable (in parallel: each takes
	// the request timeout).
	st := ms[0].st
	ctx := context.Background()
	calls := map[string]func() error{
		"get":    func() error { var v string; return st.Get(ctx, "a", &v) },
		"update": func() error { return st.Update(ctx, func(tx *Tx) error { return tx.Put("c", "lost?") }) },
		"list":   func() error { return st.List(ctx, "", func(string, []byte) error { return nil }) },
		"rev":    func() error { _, err := st.Rev(ctx); return err },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			start := time.Now()
			err := call()
			t.Logf("%s without quorum after %v: %v", name, time.Since(start), err)
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "1 of 3 members reachable") {
				t.Errorf("%s without quorum: %v; want ErrUnavailable saying 1 of 3 members are reachable", name, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	open(t, ms[1], ms[2])
	for _, tm := range ms {
		wantValue(t, tm.st, "a", "one")
		wantValue(t, tm.st, "b", "two")
	}
	put(t, ms[2].st, "d", "four")
	wantValue(t, ms[0].st, "d", "four")

	// All three restart from their data.
	for _, tm := range ms {
		tm.stop(t)
	}
	open(t, ms...)
	for _, tm := range ms {
		wantValue(t, tm.st, "a", "one")
		wantValue(t, tm.st, "d", "four")
	}
}

// A single member's data (the default, no cluster flags) becomes the first
// member of a cluster: restarted with cluster flags, it advertises its new
// peer URL, and two members join it one by one through its client URL. The
// joined members are full members (their writes are read by the others, and
// the cluster keeps its quorum without the first), and a joined member
// restarts from its data without being added again.
func TestClusterJoin(t *testing.T) {
	t.Parallel()
	first := &testMember{dir: t.TempDir()}
	open(t, first)
	put(t, first.st, "a", "one")
	first.stop(t)

	first.m = Member{Name: "m0", PeerURL: loopbackURL(t), ClientURL: loopbackURL(t)}
	first.m.InitialCluster = first.m.Name + "=" + first.m.PeerURL
	open(t, first)
	wantValue(t, first.st, "a", "one")

	var joined []*testMember
	for _, name := range []string{"m1", "m2"} {
		j := &testMember{dir: t.TempDir(), m: Member{Name: name, PeerURL: loopbackURL(t), Join: []string{first.m.ClientURL}}}
		open(t, j)
		wantValue(t, j.st, "a", "one")
		put(t, j.st, name, "joined")
		wantValue(t, first.st, name, "joined")
		joined = append(joined, j)
	}
	if n := len(first.st.etcd.Server.Cluster().Members()); n != 3 {
		t.Fatalf("%d members after the joins, want 3", n)
	}

	first.stop(t)
	put(t, joined[0].st, "c", "three")
	wantValue(t, joined[1].st, "c", "three")

	j := joined[1]
	j.stop(t)
	open(t, j) // from its data: Join is not used again
	wantValue(t, j.st, "c", "three")
	if n := len(j.st.etcd.Server.Cluster().Members()); n != 3 {
		t.Fatalf("%d members after the joined member's restart, want 3", n)
	}
}

// Member.Validate names the flag at fault.
func TestMemberValidate(t *testing.T) {
	t.Parallel()
	ok := Member{Name: "a", PeerURL: "http://127.0.0.1:2380", InitialCluster: "a=http://127.0.0.1:2380,b=http://127.0.0.1:2381"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Member{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    Member
		want string
	}{
		{Member{InitialCluster: ok.InitialCluster}, "--etcd-name is required"},
		{Member{Name: "a", InitialCluster: ok.InitialCluster}, "--etcd-peer-listen is required"},
		{Member{Name: "a", PeerURL: "http://127.0.0.1:2380"}, "needs --etcd-initial-cluster"},
		{Member{Name: "a", PeerURL: "http://127.0.0.1:2380", InitialCluster: ok.InitialCluster, Join: []string{"http://127.0.0.1:2379"}}, "exclude each other"},
		{Member{Name: "c", PeerURL: "http://127.0.0.1:2382", InitialCluster: ok.InitialCluster}, "does not name this member"},
		{Member{Name: "a", PeerURL: "https://127.0.0.1:2380", InitialCluster: ok.InitialCluster}, "do not do TLS"},
		{Member{Name: "a", PeerURL: "http://127.0.0.1:0", InitialCluster: ok.InitialCluster}, "fixed port"},
		{Member{Name: "a", PeerURL: "http://127.0.0.1:2380", InitialCluster: "a:http://127.0.0.1:2380"}, "want name=http"},
		{Member{Name: "a", PeerURL: "http://127.0.0.1:2380", Join: []string{"127.0.0.1:2379"}}, "--etcd-join"},
	} {
		err := c.m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error saying %q", c.m, err, c.want)
		}
	}
	_, err := Open(context.Background(), Config{Endpoints: []string{"http://127.0.0.1:2379"}, Member: ok})
	if err == nil || !strings.Contains(err.Error(), "excludes the embedded cluster member flags") {
		t.Errorf("Open with Endpoints and Member: %v", err)
	}
}
