package leader

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"strait/internal/store"
)

// The environment of the child process of TestKilledLeader.
const (
	childEnv = "STRAIT_LEADER_TEST_CHILD" // the member's name
	dirEnv   = "STRAIT_LEADER_TEST_DIR"
	peerEnv  = "STRAIT_LEADER_TEST_PEER"
	initEnv  = "STRAIT_LEADER_TEST_INITIAL"
)

// TestKilledLeaderChild is the replica TestKilledLeader kills: one embedded
// member and an Elector, which says "leading" on stdout when it leads.
func TestKilledLeaderChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("the child process of TestKilledLeader")
	}
	m := store.Member{Name: name, PeerURL: os.Getenv(peerEnv), InitialCluster: os.Getenv(initEnv)}
	st, err := store.Open(context.Background(), store.Config{DataDir: os.Getenv(dirEnv), Member: m})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	el := New(Config{Client: st.Client(), Key: st.Prefix() + "leader", Name: name, TTL: testTTL})
	el.Run(context.Background(), func(ctx context.Context) {
		fmt.Println("leading")
		<-ctx.Done()
	})
}

// A replica that is both the leader and its etcd cluster's leader is killed
// (SIGKILL: no resignation, its member gone): one of the two others leads once
// etcd elected a new leader and the lease expired — the new etcd leader
// renews every lease when it takes over, so this is the slowest case.
func TestKilledLeader(t *testing.T) {
	t.Parallel()
	names := []string{"child", "s1", "s2"}
	var members []store.Member
	var initial []string
	for _, n := range names {
		m := store.Member{Name: n, PeerURL: freeURL(t)}
		members = append(members, m)
		initial = append(initial, n+"="+m.PeerURL)
	}
	for i := range members {
		members[i].InitialCluster = strings.Join(initial, ",")
	}

	child := exec.Command(os.Args[0], "-test.run=^TestKilledLeaderChild$", "-test.v")
	child.Env = append(os.Environ(), childEnv+"=child", dirEnv+"="+t.TempDir(), peerEnv+"="+members[0].PeerURL, initEnv+"="+members[0].InitialCluster)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	leading := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "leading" {
				close(leading)
			}
		}
	}()

	stores := make([]*store.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		dir := t.TempDir()
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			stores[i], errs[i] = store.Open(ctx, store.Config{DataDir: dir, Member: members[i+1]})
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
	select {
	case <-leading:
	case <-time.After(time.Minute):
		t.Fatal("the child does not lead")
	}
	// Make the child's member the etcd leader too.
	ctx := context.Background()
	var childID uint64
	resp, err := stores[0].Client().MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range resp.Members {
		if m.Name == "child" {
			childID = m.ID
		}
	}
	waitFor(t, "the child's member the etcd leader", func() bool {
		for _, st := range stores {
			s, err := st.Client().Status(ctx, "")
			if err == nil && s.Leader == childID {
				return true
			}
			if _, err := st.Client().MoveLeader(ctx, childID); err != nil && err != rpctypes.ErrNotLeader {
				t.Logf("move leader: %v", err)
			}
		}
		return false
	})

	l := &leaders{t: t, running: map[string]store.Fence{}}
	cs := map[string]*candidate{}
	for i, st := range stores {
		c := startCandidate(t, l, names[i+1], st.Client(), st.Prefix()+"leader", testTTL, nil)
		cs[c.name] = c
	}
	if cur, err := Current(ctx, stores[0].Client(), stores[0].Prefix()+"leader"); err != nil || cur != "child" {
		t.Fatalf("leader before the kill: %q, %v; want child", cur, err)
	}
	start := time.Now()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	next := waitLeader(t, l, cs, stores[0].Client())
	t.Logf("%s took over from the killed leader (also the etcd leader) after %v (TTL %v)", next.name, time.Since(start), testTTL)
}
