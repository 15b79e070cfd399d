package load

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of one measured quantity.
type Summary struct {
	// N is the number of samples.
	N int
	// Median, P90, P99 and Max are nearest-rank percentiles. With fewer than
	// 100 samples P99 is the largest sample but one at most.
	Median, P90, P99, Max time.Duration
}

// Summarize returns the percentiles of samples (which it does not modify).
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{N: len(s), Median: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99), Max: s[len(s)-1]}
}

// Percentile returns the nearest-rank p-th percentile of sorted, which must
// not be empty: the smallest sample that at least p percent of the samples
// are at or below. The median of an even count is the lower middle sample.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// Ratio returns a / b, or NaN when b is zero.
func Ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
