package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"math"
	"strings"
	"testing"
	"time"
)

// testLiveSample is 10 live listeners watched for four LINK_TIMEOUTs of
// 5 s: one next link per listener per period, each 2 billed ms, a presence
// UpdateItem (1 WRU) and a resume Query (0.5 RRU) and one publish, which
// reached all 10 listeners.
func testLiveSample() liveSample {
	return liveSample{
		Listeners: 10, Window: 20 * time.Second, LinkTimeout: 5 * time.Second, PresenceTTL: 10 * time.Second,
		Usage: usage{
			Invocations: map[string]int{load.RouteStream: 40}, invocationsStream: 40, apiRequests: 40, BilledMs: 80, Publishes: 40, Items: 40,
			DDB: ddbUsage{Calls: map[string]int{"UpdateItem": 40, "Query": 40}, BilledWRU: 40, WRU: 40, RRU: 20},
		},
		Frames: map[string]int{"presence": 400},
		Open: usage{
			Invocations: map[string]int{load.RouteStream: 20}, invocationsStream: 20, Publishes: 10,
			DDB: ddbUsage{Calls: map[string]int{"UpdateItem": 10, "UpdateItem failed": 10, "Query": 30}, BilledWRU: 20, RRU: 15},
		},
		OpenFrame: map[string]int{"presence-list": 10, "presence": 55},
	}
}

func TestCostLive(t *testing.T) {
	t.Parallel()
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > math.Abs(want)*1e-9 {
			t.Errorf("%s = %.9g, want %.9g", name, got, want)
		}
	}
	r, ok := testLiveSample().rates()
	if !ok {
		t.Fatal("rates of a window with invocations and publishes: not derived")
	}
	if want := (liveRates{PerPeriod: 1, Lag: 0, Ms: 2, Calls: 2, WRU: 1, RRU: 0.5, Publishes: 1, Reach: 1}); r != want {
		t.Errorf("rates = %+v, want %+v", r, want)
	}
	// Links every 6.25 s at a 5-s LINK_TIMEOUT: 1.25 s late each; at 60 s
	// that is 3600 / 61.25 links an hour, not 60 × 0.8.
	late := testLiveSample()
	late.Usage.invocationsStream = 32
	lr, _ := late.rates()
	near("late per period", lr.PerPeriod, 0.8)
	near("lag", lr.Lag, 1.25)
	costLate := costModel{rep: testCostReport(), p: publicPrices(-1, -1)}
	near("late invocations at 60 s", costLate.liveHour(lr, 60*time.Second, 1).Invocations, 3600/61.25)
	empty := testLiveSample()
	empty.Usage = usage{}
	if _, ok := empty.rates(); ok {
		t.Error("rates derived from a window without invocations")
	}

	rep := testCostReport()
	rep.Live = testLiveSample()
	m := costModel{rep: rep, p: publicPrices(-1, -1), params: costParams{WSConnBytes: 40}}
	// At the 60-s default: 60 next links an hour, whatever the room's size.
	h := m.liveHour(r, 60*time.Second, 100)
	near("invocations", h.Invocations, 60)
	near("DynamoDB calls", h.Calls, 120)
	near("WRU", h.WRU, 60)
	near("RRU", h.RRU, 30)
	near("publishes", h.Publishes, 60)
	near("deliveries", h.Deliveries, 6000)
	near("Fanout per listener", h.FanoutListener, 6060)
	near("Fanout per room", h.FanoutRoom, 606000)
	near("AWS", h.AWS, 60*(0.20e-6+0.002*1*0.0000133334+1e-6)+60*0.625e-6+30*0.125e-6)
	near("DynamoDB", h.DynamoDB, 60*0.625e-6+30*0.125e-6)
	near("HTTP API", h.API, 60*1e-6)
	near("Fanout unpriced", h.Fanout, 0)
	// Deliveries are priced as the live channel makes them, every publish to
	// every listener, whatever share of them a window's edges missed.
	short := r
	short.Reach = 0.9
	near("deliveries at a measured reach of 0.9", m.liveHour(short, 60*time.Second, 100).Deliveries, 6000)
	big := m.liveHour(r, 60*time.Second, 10000)
	near("AWS does not grow with the room", big.AWS, h.AWS)
	near("Fanout per room at 10,000", big.FanoutRoom, 10000*(60+60*10000))
	near("roster per room at 10,000", rosterRoomHour(60*time.Second, 10000), 60*10001)

	priced := costModel{rep: rep, p: publicPrices(2, 10), params: m.params}
	near("Fanout priced", priced.liveHour(r, 60*time.Second, 100).Fanout, 6060*2e-6+60*10e-6)

	// Priced, the live rows' per hour adds the room's Fanout messages: at
	// 100 listeners and the 120-s default, 30 + 3,000 of them, $1 per 1M.
	var pb strings.Builder
	if err := rep.write(&pb, publicPrices(1, -1), m.params); err != nil {
		t.Fatal(err)
	}
	at100 := costModel{rep: rep, p: publicPrices(1, -1)}.liveHour(r, 120*time.Second, 100)
	near("priced Fanout at 100", at100.Fanout, 3030e-6)
	if want := "| 30 | 3,030; 303,000 | $0.0031 |"; !strings.Contains(pb.String(), want) {
		t.Errorf("priced report lacks %q:\n%s", want, pb.String())
	}

	var b strings.Builder
	if err := rep.write(&b, m.p, m.params); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| this port, the web page's live stream (`?live=1`), 10,000 live listeners in the room, LINK_TIMEOUT 2m0s, as measured |",
		// At the 120-s default: 30 publishes and 300,000 deliveries per listener-hour.
		"| 30 | 300,030; 3 billion |",
		"**1.00 presence frames per publish per listener**",
		"presence 55, presence-list 10",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", 60: "60", 6060: "6,060", 606000: "606,000", 6.06e6: "6.06 million", 6.0006e9: "6 billion"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q, want %q", v, got, want)
		}
	}
}
