package main

import (
	"math"
	"slices"
	"time"
)

// summary is the spread of a metric's repeated measurements.
type summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// summarize returns min, median and max of xs (the mean of the middle two for an
// even count); a zero summary for none. NaN values are ignored.
func summarize(xs []float64) summary {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return summary{}
	}
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return summary{N: n, Min: v[0], Median: med, Max: v[n-1]}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted durations by the
// nearest-rank method: the smallest value with at least p% of values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ratio is a/b, or NaN when b is zero or either is missing.
func ratio(a, b summary) float64 {
	if a.N == 0 || b.N == 0 || b.Median == 0 {
		return math.NaN()
	}
	return a.Median / b.Median
}
