package main

import (
	"math"
	"slices"
	"time"
)

// summary is the distribution of one measured quantity.
type summary struct {
	// N is the number of samples.
	N int
	// Median, P90, P99 and Max are nearest-rank percentiles. With fewer than
	// 100 samples P99 is the largest sample but one at most.
	Median, P90, P99, Max time.Duration
}

// summarize returns the percentiles of samples (which it does not modify).
func summarize(samples []time.Duration) summary {
	if len(samples) == 0 {
		return summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return summary{N: len(s), Median: percentile(s, 50), P90: percentile(s, 90), P99: percentile(s, 99), Max: s[len(s)-1]}
}

// percentile returns the nearest-rank p-th percentile of sorted, which must
// not be empty: the smallest sample that at least p percent of the samples
// are at or below. The median of an even count is the lower middle sample.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// ratio returns a / b, or NaN when b is zero.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
