package main

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want summary
	}{
		{nil, summary{}},
		{[]float64{3}, summary{N: 1, Min: 3, Median: 3, Max: 3}},
		{[]float64{5, 1, 3}, summary{N: 3, Min: 1, Median: 3, Max: 5}},
		{[]float64{4, 1, 3, 2}, summary{N: 4, Min: 1, Median: 2.5, Max: 4}},
		{[]float64{math.NaN(), 2, 8}, summary{N: 2, Min: 2, Median: 5, Max: 8}},
	} {
		if got := summarize(c.in); got != c.want {
			t.Errorf("summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0.1, 1}, {99.5, 100}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v of 1..100 = %d, want %d", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7, 9}, 50); got != 7 {
		t.Errorf("p50 of {7, 9} = %d, want 7 (nearest rank)", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %d", got)
	}
}

func TestRatio(t *testing.T) {
	if got := ratio(summary{N: 1, Median: 3}, summary{N: 2, Median: 4}); got != 0.75 {
		t.Errorf("ratio = %v, want 0.75", got)
	}
	for _, c := range [][2]summary{{{}, {N: 1, Median: 1}}, {{N: 1, Median: 1}, {}}, {{N: 1, Median: 1}, {N: 1, Median: 0}}} {
		if got := ratio(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("ratio(%+v, %+v) = %v, want NaN", c[0], c[1], got)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1234.6: "1235", 12.34: "12.3", 1.234: "1.23", 0.01234: "0.012", -5.5: "-5.50", math.NaN(): "–"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged this process at least two more ticks.
	var after time.Duration
	for deadline := time.Now().Add(10 * time.Second); after < before+2*time.Second/userHZ; {
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time %v after spinning 10 s, %v before", after, before)
		}
	}
	if zero, err := processCPU(0); zero != 0 || err != nil {
		t.Errorf("processCPU(0) = %v, %v; want 0, nil", zero, err)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1): no error")
	}
}
