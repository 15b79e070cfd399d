package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"math"
	"strings"
	"testing"
	"time"
)

// testCostReport is a run of 10 messages at 1 and 100 listeners where
// each message took one send invocation of 3 ms, one HTTP API request, one
// publish and wrote 6 WRU.
func testCostReport() costReport {
	sample := func(n int) costSample {
		return costSample{Listeners: n, Messages: 10, Deliveries: 10 * n, PerMessage: usage{
			Invocations: map[string]int{load.RouteSend: 10}, BilledMs: 30, apiRequests: 10, Publishes: 10, Items: 10,
			DDB: ddbUsage{Calls: map[string]int{"TransactWriteItems": 10}, BilledWRU: 60},
		}}
	}
	return costReport{
		Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Machine: "test",
		Samples:  []costSample{sample(1), sample(100)},
		MemoryMB: map[string]int{"SendFunction": 1024, "StreamFunction": 1024}, DefaultLinkTimeout: 120 * time.Second,
		Idle: idleSample{Listeners: 10, Window: 20 * time.Second, LinkTimeout: 5 * time.Second, Usage: usage{
			Invocations: map[string]int{load.RouteStream: 4}, invocationsStream: 4, BilledMs: 8, DDB: ddbUsage{RRU: 4},
		}},
	}
}

func TestCostModel(t *testing.T) {
	t.Parallel()
	p := publicPrices(-1, -1)
	m := costModel{rep: testCostReport(), p: p, params: costParams{WSConnBytes: 40}}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*1e-9 {
			t.Errorf("%s = %.9g, want %.9g", name, got, want)
		}
	}
	o, _, ext := m.ours(100)
	if ext {
		t.Error("100 listeners were measured, not extrapolated")
	}
	near("Lambda", o.Lambda, 0.20e-6+0.003*1*0.0000133334)
	near("API", o.API, 1e-6)
	near("DynamoDB", o.DynamoDB, 6*0.625e-6)
	near("Fanout messages", o.FanoutMessages, 101)
	if _, _, ext := m.ours(1000); !ext {
		t.Error("1000 listeners were not measured: extrapolated")
	}
	ws := m.webSocketSample(100)
	near("WebSocket API", ws.API, 101e-6)
	near("WebSocket Scan", ws.DynamoDB, 0.5*0.125e-6)
	near("WebSocket Lambda", ws.Lambda, 0.20e-6+0.003*1*0.0000133334)
	as := m.appSync(100)
	near("AppSync", as.API, 4e-6+100*2e-6)
	// Idle: 4 invocations for 10 listeners over 4 periods: 0.1 per listener
	// per period; 30 periods of 120 s an hour.
	near("measured per period", m.measuredPerPeriod(), 0.1)
	c, n := m.idleHour(120*time.Second, 0.1)
	near("idle invocations", n, 3)
	near("idle cost", c, 3*(0.20e-6+0.002*0.0000133334+1e-6+0.125e-6))

	var b strings.Builder
	if err := m.rep.write(&b, p, m.params); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 100 | $4.99 ($0.2400 + $1.00 + $3.75) | 101M | $101 | $205 | 20.3× |", "**Met** for the AWS bill.", "| 10000 (origin extrapolated) |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestCostIdleRows checks that the idle table prices each LINK_TIMEOUT
// once, whichever of the compared values the template's default is.
func TestCostIdleRows(t *testing.T) {
	t.Parallel()
	for _, def := range []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second, 300 * time.Second} {
		rep := testCostReport()
		rep.DefaultLinkTimeout = def
		var b strings.Builder
		if err := rep.write(&b, publicPrices(-1, -1), costParams{WSConnBytes: 40}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, line := range strings.Split(b.String(), "\n") {
			if !strings.HasPrefix(line, "| this port, one next-link call") {
				continue
			}
			if seen[line] {
				t.Errorf("default %s: the idle table repeats %q", def, line)
			}
			seen[line] = true
		}
		if len(seen) == 0 {
			t.Errorf("default %s: the idle table has no upper-bound row", def)
		}
	}
}
