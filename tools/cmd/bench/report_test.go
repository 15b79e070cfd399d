package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"strings"
	"testing"
	"time"
)

func TestReportWrite(t *testing.T) {
	t.Parallel()
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	s := func(ms float64) load.Summary {
		return load.Summary{N: 50, Median: d(ms), P90: d(ms * 2), P99: d(ms * 3), Max: d(ms * 3)}
	}
	r := report{
		Date:    time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Machine: "test machine",
		Config:  benchConfig{Listeners: []int{1, 10}, Messages: 50, Warmup: 3, Reads: 50, ColdRuns: 5, Concurrency: []int{1, 8}, Requests: 300},
		Fanout: []fanoutResult{
			{Mode: modeOrigin, Listeners: 1, Send: s(10), Delivery: s(11), Complete: 50, Messages: 50, SendCalls: 50},
			{Mode: modeRaw, Listeners: 1, Send: s(1), Delivery: s(2), Complete: 50, Messages: 50},
			{Mode: modeOrigin, Listeners: 10, Send: s(12), Delivery: s(14), Complete: 49, Messages: 50, SendCalls: 50, Dups: 1},
			{Mode: modeRaw, Listeners: 10, Send: s(2), Delivery: s(4), Complete: 50, Messages: 50},
		},
		Reads: []readResult{{Name: "base", Lat: s(2), N: 50}, {Name: "history", Lat: s(5), N: 50}},
		Throughput: []throughputResult{
			{Request: reqSend, Path: pathAPI, Concurrency: 8, OK: 300, Failed: 1, Elapsed: 3 * time.Second, Lat: s(2), Invocations: 300,
				DDB: ddbUsage{Calls: map[string]int{"TransactWriteItems": 300}, BilledWRU: 2100}},
			{Request: reqSend, Path: pathPushpin, Concurrency: 1, OK: 10, Elapsed: time.Second, Lat: s(2), Invocations: 10,
				DDB: ddbUsage{Calls: map[string]int{"TransactWriteItems": 10}, BilledWRU: 70}},
		},
		Cold:  []coldResult{{Function: "SendFunction", Cold: s(100), FirstInvoke: s(80), Warm: s(4), PeakRSSKiB: 20480}},
		Sizes: []sizeResult{{Function: "SendFunction", Bytes: 10 << 20, GzipSize: 4 << 20}},
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cases := []struct {
		name, want string
	}{
		{"date", "## Benchmark run 2026-01-02 03:04 UTC"},
		{"baseline row", "| 1 | 10.00 ms | 20.00 ms | 30.00 ms | 1.00× | 1.00 ms | 10.00× | 9.00 ms | 1.00× | 50 / 0 |"},
		{"ratio to one listener and to raw", "| 10 | 12.00 ms | 24.00 ms | 36.00 ms | 1.20× | 2.00 ms | 6.00× | 10.00 ms | 1.11× | 50 / 0 |"},
		{"delivery with losses", "| 10 | 14.00 ms | 28.00 ms | 42.00 ms | 4.00 ms | 8.00 ms | 12.00 ms | 3.50× | +10.00 ms | 49/50, 50/50 (origin: 1 dup, 0 unknown, 0 broken) |"},
		{"throughput", "| send | API emulator | 8 | 100 | 2.00 ms | 6.00 ms | 1 | 1.00 | TransactWriteItems 1.00 | 7.00 | 0.00 |"},
		{"route", "| send | 1.00 | TransactWriteItems 1.00 | 0.00 | 7.00 |"},
		{"read ratio", "| history | 5.00 ms | 10.00 ms | 15.00 ms | 2.50× |"},
		{"cold", "| SendFunction | 100.00 ms | 200.00 ms | 80.00 ms | 4.00 ms | 20.00× | 20.0 MiB |"},
		{"size", "| SendFunction | 10.0 MiB | 4.0 MiB |"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(out, tc.want) {
				t.Errorf("report lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
