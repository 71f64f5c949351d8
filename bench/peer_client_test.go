package main

import (
	"slices"
	"strings"
	"testing"
)

// TestMarksByPhase checks how the failover client splits its tests at the
// driver's marks: a test starting exactly at a mark belongs to the later phase.
func TestMarksByPhase(t *testing.T) {
	marks, err := readMarks(strings.NewReader("100\n\n200\n"))
	if err != nil || !slices.Equal(marks, []int64{100, 200}) {
		t.Fatalf("readMarks = %v, %v; want [100 200]", marks, err)
	}
	got := byPhase([]int64{5, 99, 100, 150, 199, 200, 250, 300}, marks)
	if want := []int64{2, 3, 3}; !slices.Equal(got, want) {
		t.Errorf("byPhase = %v, want %v", got, want)
	}
	if got := byPhase(nil, marks); !slices.Equal(got, []int64{0, 0, 0}) {
		t.Errorf("byPhase of nothing = %v, want three zeros", got)
	}
	if _, err := readMarks(strings.NewReader("100\nsoon\n")); err == nil {
		t.Error("a mark that is not a number was accepted")
	}
}

// TestLongestGap checks the restart client's gap: between successes, and from
// the client's start and to its end when no success is there.
func TestLongestGap(t *testing.T) {
	for _, c := range []struct {
		times    []int64
		gap, at  int64
		from, to int64
	}{
		{[]int64{30, 10, 20, 90, 95}, 60, 30, 0, 100}, // unsorted; the gap between two successes
		{[]int64{10, 20}, 80, 20, 0, 100},             // none after 20: the gap runs to the end
		{[]int64{70, 80}, 70, 0, 0, 100},              // none before 70: from the start
		{nil, 100, 0, 0, 100},                         // never
	} {
		gap, at := longestGap(slices.Clone(c.times), c.from, c.to)
		if gap != c.gap || at != c.at {
			t.Errorf("longestGap(%v, %d, %d) = %d at %d, want %d at %d", c.times, c.from, c.to, gap, at, c.gap, c.at)
		}
	}
}
