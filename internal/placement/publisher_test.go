package placement_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"strait/internal/agent"
	"strait/internal/agent/netns"
	"strait/internal/placement"
)

const base = 1_000_000

// The revision starts above the base and grows only when the part changes: an
// equal part built anew (its maps filled in another order) keeps it.
func TestPublisherRevisions(t *testing.T) {
	p := placement.NewPublisher(base)
	if r := p.Revision("h1"); r != 0 {
		t.Errorf("revision before anything is published: %d", r)
	}
	parts := placement.Split(region(), []placement.Host{{ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneA}}})
	if r, changed := p.Set("h1", parts["h1"]); r != base+1 || !changed {
		t.Errorf("first Set: revision %d changed %v, want %d true", r, changed, base+1)
	}
	again := placement.Split(region(), []placement.Host{{ID: "h1", Zones: []string{zoneA}}, {ID: "local", Local: true}})["h1"]
	again.Groups = map[string][]netip.Addr{}
	for g := range parts["h1"].Groups { // the same members, inserted anew
		again.Groups[g] = append([]netip.Addr(nil), parts["h1"].Groups[g]...)
	}
	if r, changed := p.Set("h1", again); r != base+1 || changed {
		t.Errorf("Set of an equal part: revision %d changed %v, want %d false", r, changed, base+1)
	}
	again.Instances = nil
	if r, changed := p.Set("h1", again); r != base+2 || !changed {
		t.Errorf("Set of a changed part: revision %d changed %v, want %d true", r, changed, base+2)
	}
	if r, changed := p.Set("h2", parts["h1"]); r != base+1 || !changed || p.Revision("h1") != base+2 {
		t.Errorf("another host: revision %d changed %v (h1 at %d)", r, changed, p.Revision("h1"))
	}
}

// A part survives JSON (the wire, and what Set compares) whole: every field
// of the state is in its JSON.
func TestPartsSurviveJSON(t *testing.T) {
	parts := placement.Split(region(), []placement.Host{{ID: "local", Local: true}, {ID: "h1", Zones: []string{zoneA}}, {ID: "h2", Zones: []string{zoneB}}})
	parts["whole"] = region()
	for h, st := range parts {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back agent.State
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, st) {
			t.Errorf("%s's part changed through JSON:\n%+v\n%+v", h, back, st)
		}
	}
}

// A watcher gets the latest part when it is newer than the revision it asks
// from, then each new one; after a disconnect it resumes from the revision it
// had and gets only the newest part.
func TestPublisherWatchResumes(t *testing.T) {
	p := placement.NewPublisher(base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := p.Watch(ctx, "h1", 0) // before anything is published
	p.Set("h1", state(1))
	expect(t, ch, base+1, 1)
	p.Set("h1", state(2))
	expect(t, ch, base+2, 2)

	cancel() // the agent disconnects
	for range ch {
	}
	p.Set("h1", state(3))
	p.Set("h1", state(4))

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ch = p.Watch(ctx2, "h1", base+2)
	expect(t, ch, base+4, 4)
	// Resuming from the current revision delivers nothing until a change.
	up := p.Watch(ctx2, "h1", base+4)
	p.Set("h1", state(4)) // unchanged: no revision
	p.Set("h1", state(5))
	expect(t, up, base+5, 5)
	expect(t, ch, base+5, 5)

	// Forgetting the host ends its watches.
	p.Forget("h1")
	if u, ok := <-ch; ok {
		t.Errorf("watch of a forgotten host delivered %d", u.Revision)
	}
}

// A watcher that does not receive while parts are published gets only the
// newest, and the publisher keeps no older part alive for it.
func TestPublisherWatchCoalesces(t *testing.T) {
	p := placement.NewPublisher(base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := state(1)
	released := make(chan struct{})
	runtime.SetFinalizer(&first.Instances[0], func(*agent.Instance) { close(released) })
	p.Set("h1", first)
	first = agent.State{}
	ch := p.Watch(ctx, "h1", 0)
	for i := 2; i <= 50; i++ {
		p.Set("h1", state(i))
	}
	expect(t, ch, base+50, 50)
	// The first part is unreachable now: wait for the collector to find it.
	for done := false; !done; {
		runtime.GC()
		select {
		case <-released:
			done = true
		default:
			runtime.Gosched()
		}
	}
}

// Many hosts published and watched at once, under -race: every watcher ends
// with its host's last part.
func TestPublisherConcurrent(t *testing.T) {
	p := placement.NewPublisher(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hosts := []string{"h1", "h2", "h3"}
	var wg sync.WaitGroup
	for _, h := range hosts {
		for range 3 {
			ch := p.Watch(ctx, h, 0)
			wg.Go(func() {
				last := uint64(0)
				for u := range ch {
					if u.Revision <= last {
						t.Errorf("%s: revision %d after %d", h, u.Revision, last)
					}
					last = u.Revision
					if len(u.State.Instances) == 100 {
						return
					}
				}
				t.Errorf("%s: watch ended before the last part", h)
			})
		}
		wg.Go(func() {
			for i := 1; i <= 100; i++ {
				p.Set(h, state(i))
				p.Revision(h)
			}
		})
	}
	wg.Wait()
}

// state is a part with n instances.
func state(n int) agent.State {
	st := agent.State{}
	for i := range n {
		st.Instances = append(st.Instances, agent.Instance{Instance: netns.Instance{ID: "i-" + strconv.Itoa(i)}})
	}
	return st
}

// expect receives the next update and checks its revision and part.
func expect(t *testing.T, ch <-chan placement.Update, rev uint64, instances int) {
	t.Helper()
	u, ok := <-ch
	if !ok {
		t.Fatalf("watch ended, want revision %d", rev)
	}
	if u.Revision != rev || len(u.State.Instances) != instances {
		t.Fatalf("got revision %d with %d instances, want %d with %d", u.Revision, len(u.State.Instances), rev, instances)
	}
}
