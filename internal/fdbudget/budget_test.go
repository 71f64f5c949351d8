package fdbudget

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCountOpenMatchesProc: the zero-allocation count agrees with the directory
// listing, and follows descriptors opened and closed.
func TestCountOpenMatchesProc(t *testing.T) {
	listed := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents) - 1 // ReadDir's own descriptor
	}
	before, err := countOpen()
	if err != nil {
		t.Fatal(err)
	}
	if l := listed(); l != before {
		t.Fatalf("countOpen %d, /proc/self/fd lists %d", before, l)
	}
	fds := pipes(t, 300)
	after, err := countOpen()
	if err != nil {
		t.Fatal(err)
	}
	closeAll(fds)
	if after != before+600 {
		t.Fatalf("after 300 pipes: %d open, want %d", after, before+600)
	}
}

// TestPoolsShareTheBudget: the data plane's pool (no share) stops where the
// API's unused share and the reserve begin; the API's pool has its share
// whatever the data plane holds, and no more.
func TestPoolsShareTheBudget(t *testing.T) {
	open, err := countOpen()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(open+100, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := b.Pool(20)
	data := b.Pool(0)
	if n := takeAll(data, 2); n != 70 {
		t.Fatalf("the data plane's pool handed out %d descriptors, want 70 (100 free less 20 shared and 10 reserved)", n)
	}
	if n := takeAll(api, 1); n != 20 {
		t.Fatalf("the API's pool handed out %d, want its share of 20", n)
	}
	api.Give(5)
	if data.Take(1) {
		t.Fatal("the data plane's pool took from the API's unused share")
	}
	if !api.Take(5) {
		t.Fatal("the API's pool could not take back descriptors it gave")
	}
	data.Give(10)
	if n := takeAll(data, 1); n != 10 {
		t.Fatalf("the data plane's pool took %d after giving 10 back, want 10", n)
	}
	if got := b.Held(); got != 90 {
		t.Fatalf("held %d, want 90", got)
	}
}

// TestSampleCountsOthers: descriptors opened outside the pools count against
// them from the next sample on; a refusal takes a fresh sample, so descriptors
// closed since are available again.
func TestSampleCountsOthers(t *testing.T) {
	open, err := countOpen()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(open+60, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := b.Pool(0)
	fds := pipes(t, 20)
	if err := b.Sample(); err != nil {
		t.Fatal(err)
	}
	if c := p.Capacity(); c != 10 {
		t.Fatalf("capacity %d after 40 other descriptors, want 10", c)
	}
	if n := takeAll(p, 1); n != 10 {
		t.Fatalf("the pool handed out %d, want the 10 left", n)
	}
	closeAll(fds)
	b.mu.Lock()
	b.lastSample = time.Time{} // as if the last count were old
	b.mu.Unlock()
	if !p.Take(40) {
		t.Fatal("descriptors closed since the last count were not available after a refusal")
	}
}

func takeAll(p *Pool, n int) int {
	got := 0
	for p.Take(n) {
		got += n
	}
	return got
}

func pipes(t *testing.T, n int) [][2]int {
	t.Helper()
	var fds [][2]int
	for range n {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			closeAll(fds)
			t.Fatal(err)
		}
		fds = append(fds, p)
	}
	return fds
}

func closeAll(fds [][2]int) {
	for _, p := range fds {
		unix.Close(p[0])
		unix.Close(p[1])
	}
}
