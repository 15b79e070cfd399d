package load

import (
	"math"
	"testing"
	"time"
)

func ms(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted
	}
	cases := []struct {
		name    string
		samples []time.Duration
		want    Summary
	}{
		{"empty", nil, Summary{}},
		{"one", ms(7), Summary{N: 1, Median: ms(7)[0], P90: ms(7)[0], P99: ms(7)[0], Max: ms(7)[0]}},
		{"odd unsorted", ms(5, 1, 3), Summary{N: 3, Median: ms(3)[0], P90: ms(5)[0], P99: ms(5)[0], Max: ms(5)[0]}},
		{"even takes lower middle", ms(4, 1, 3, 2), Summary{N: 4, Median: ms(2)[0], P90: ms(4)[0], P99: ms(4)[0], Max: ms(4)[0]}},
		{"hundred", ms(hundred...), Summary{N: 100, Median: ms(50)[0], P90: ms(90)[0], P99: ms(99)[0], Max: ms(100)[0]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := append([]time.Duration(nil), tc.samples...)
			if got := Summarize(tc.samples); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.samples, got, tc.want)
			}
			for i := range before {
				if before[i] != tc.samples[i] {
					t.Fatalf("summarize reordered its input: %v", tc.samples)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		a, b time.Duration
		want float64
	}{
		{"equal", time.Second, time.Second, 1},
		{"double", 2 * time.Millisecond, time.Millisecond, 2},
		{"zero base", time.Second, 0, math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Ratio(tc.a, tc.b)
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
