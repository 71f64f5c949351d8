package dataplane

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeYielder yields a given number of turns, logging each, and makes another
// descriptor readable during its first resumed turn.
type fakeYielder struct {
	turns int
	log   *[]string
	poke  func()
	done  chan struct{}
}

func (f *fakeYielder) resume() bool {
	*f.log = append(*f.log, "a")
	if f.poke != nil {
		f.poke()
		f.poke = nil
	}
	if f.turns--; f.turns > 0 {
		return true
	}
	close(f.done)
	return false
}

// A direction that yields stays with its reactor, which runs it again, and
// an event that came during its turn is dispatched before its next turn.
func TestReactorResumesYielded(t *testing.T) {
	var a, b [2]int
	for _, p := range []*[2]int{&a, &b} {
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	}
	var log []string // written only on the reactor's goroutine until done
	f := &fakeYielder{turns: 3, log: &log, done: make(chan struct{})}
	f.poke = func() { unix.Write(b[1], []byte{1}) }
	r, err := newReactor(func(key uint64, _ uint32) yielder {
		switch key {
		case 1:
			log = append(log, "wake a")
			return f
		case 2:
			log = append(log, "wake b")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	for _, reg := range []struct {
		fd  int
		key uint64
	}{{a[0], 1}, {b[0], 2}} {
		if err := r.add(reg.fd, unix.EPOLLIN, reg.key); err != nil {
			t.Fatal(err)
		}
	}
	unix.Write(a[1], []byte{1})
	<-f.done
	want := []string{"wake a", "a", "wake b", "a", "a"}
	if !slices.Equal(log, want) {
		t.Errorf("reactor ran %q, want %q", log, want)
	}
}
