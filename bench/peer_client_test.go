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
