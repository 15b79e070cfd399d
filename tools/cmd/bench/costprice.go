package main

import (
	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/tools/load"

	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// priceList is the public prices the cost report uses (US East, N.
// Virginia, on-demand, no free tier), each with its source.
type priceList struct {
	LambdaRequest, LambdaGBs       float64 // per request, per GB-second (arm64)
	HTTPRequest                    float64 // API Gateway HTTP API, per request
	WSMessage, WSMinute            float64 // API Gateway WebSocket API, per message, per connection-minute
	WRU, RRU                       float64 // DynamoDB on-demand, per request unit
	AppSyncOp, AppSyncUpdate       float64 // AppSync GraphQL, per query/mutation, per real-time update
	AppSyncMinute                  float64 // per connection-minute
	FanoutMessage, FanoutMinute    float64 // Fastly Fanout: parameters, no public price
	sources                        [][3]string
	fanoutMessageSet, fanoutMinSet bool
}

// pricesLookedUp is the date the public prices below were read.
const pricesLookedUp = "2026-11-29"

// publicPrices returns the price list; fanoutMessage and fanoutMinute are
// per million Fanout messages and connection-minutes (negative: unknown).
func publicPrices(fanoutMessage, fanoutMinute float64) priceList {
	p := priceList{
		LambdaRequest: 0.20 / 1e6, LambdaGBs: 0.0000133334,
		HTTPRequest: 1.00 / 1e6,
		WSMessage:   1.00 / 1e6, WSMinute: 0.25 / 1e6,
		WRU: 0.625 / 1e6, RRU: 0.125 / 1e6,
		AppSyncOp: 4.00 / 1e6, AppSyncUpdate: 2.00 / 1e6, AppSyncMinute: 0.08 / 1e6,
		FanoutMessage: max(0, fanoutMessage) / 1e6, FanoutMinute: max(0, fanoutMinute) / 1e6,
		fanoutMessageSet: fanoutMessage >= 0, fanoutMinSet: fanoutMinute >= 0,
	}
	p.sources = [][3]string{
		{"AWS Lambda, arm64", "$0.20 per 1M requests; $0.0000133334 per GB-second (first 7.5 billion GB-s a month), billed per 1 ms", "https://aws.amazon.com/lambda/pricing/"},
		{"API Gateway HTTP API", "$1.00 per 1M requests (first 300 million a month; metered in 512 KB increments)", "https://aws.amazon.com/api-gateway/pricing/"},
		{"API Gateway WebSocket API", "$1.00 per 1M messages (first 1 billion; 32 KB increments), $0.25 per 1M connection-minutes", "https://aws.amazon.com/api-gateway/pricing/"},
		{"DynamoDB on-demand (since the 2024-11-01 cut)", "$0.625 per 1M write request units, $0.125 per 1M read request units; a transactional write is 2 WRU per KB per item", "https://aws.amazon.com/dynamodb/pricing/on-demand/"},
		{"AWS AppSync GraphQL", "$4.00 per 1M query and mutation operations, $2.00 per 1M real-time updates, $0.08 per 1M connection-minutes", "https://aws.amazon.com/appsync/pricing/"},
		{"Fastly Fanout", "no public rate: billed on bandwidth, connection-minutes and messages (published messages received plus messages sent to end users), by contract", "https://docs.fastly.com/products/fanout"},
	}
	return p
}

// perMessage is the cost of one message and what it is made of, in dollars.
type perMessage struct {
	Lambda, API, DynamoDB, Fanout float64
	// FanoutMessages is how many Fanout messages it counts as.
	FanoutMessages float64
}

// aws is the AWS part.
func (c perMessage) aws() float64 { return c.Lambda + c.API + c.DynamoDB }

// total is everything.
func (c perMessage) total() float64 { return c.aws() + c.Fanout }

// costModel prices the measured usage.
type costModel struct {
	rep    costReport
	p      priceList
	params costParams
}

// costParams are the assumptions of the alternatives' model that this
// machine cannot measure.
type costParams struct {
	// WSBaseMs is the WebSocket sample's sendmessage billed duration before
	// its PostToConnection calls (0: this port's measured send);
	// WSPostMs is what each PostToConnection adds.
	WSBaseMs, WSPostMs float64
	// WSConnBytes is the size of one connection item its Scan reads.
	WSConnBytes float64
}

// sampleFor returns the measured sample at s listeners or, when s was not
// measured, the largest one (extrapolated).
func (m costModel) sampleFor(s int) (costSample, bool) {
	var best costSample
	for _, x := range m.rep.Samples {
		if x.Listeners == s {
			return x, false
		}
		if x.Listeners > best.Listeners {
			best = x
		}
	}
	return best, true
}

// gb is a function's memory in GB.
func (m costModel) gb(fn string) float64 {
	mb := m.rep.MemoryMB[fn]
	if mb == 0 {
		mb = 128
	}
	return float64(mb) / 1024
}

// ours prices one message at s listeners as this port handles it.
func (m costModel) ours(s int) (perMessage, costSample, bool) {
	x, extrapolated := m.sampleFor(s)
	u, n := x.PerMessage, float64(x.Messages)
	inv := 0
	for _, v := range u.Invocations {
		inv += v
	}
	var c perMessage
	c.Lambda = float64(inv)/n*m.p.LambdaRequest + u.BilledMs/n/1000*m.gb("SendFunction")*m.p.LambdaGBs
	c.API = float64(u.apiRequests) / n * m.p.HTTPRequest
	c.DynamoDB = u.DDB.BilledWRU/n*m.p.WRU + u.DDB.RRU/n*m.p.RRU
	deliveries := float64(x.Deliveries) / n
	if extrapolated {
		deliveries = float64(s)
	}
	c.FanoutMessages = float64(u.Items)/n + deliveries
	c.Fanout = c.FanoutMessages * m.p.FanoutMessage
	return c, x, extrapolated
}

// wsSendMs is the WebSocket sample's billed sendmessage duration at s.
func (m costModel) wsSendMs(s int) float64 {
	base := m.params.WSBaseMs
	if base <= 0 {
		if x, _ := m.sampleFor(1); x.Messages > 0 {
			base = math.Ceil(x.PerMessage.BilledMs / float64(x.Messages))
		}
	}
	return base + float64(s)*m.params.WSPostMs
}

// webSocketSample prices one message of the AWS WebSocket chat sample's
// design: the message arrives on the WebSocket API, one Lambda invocation
// Scans the connections table and calls PostToConnection once per
// connection, each a WebSocket message.
func (m costModel) webSocketSample(s int) perMessage {
	var c perMessage
	c.Lambda = m.p.LambdaRequest + m.wsSendMs(s)/1000*m.gb("SendFunction")*m.p.LambdaGBs
	c.API = float64(1+s) * m.p.WSMessage
	// An eventually consistent Scan: 0.5 RRU per 4 KB read.
	c.DynamoDB = math.Max(1, math.Ceil(float64(s)*m.params.WSConnBytes/4096)) * 0.5 * m.p.RRU
	return c
}

// appSync prices one message as an AppSync mutation with a DynamoDB
// resolver (one PutItem) and a subscription update to each listener.
func (m costModel) appSync(s int) perMessage {
	var c perMessage
	c.API = m.p.AppSyncOp + float64(s)*m.p.AppSyncUpdate
	c.DynamoDB = 1 * m.p.WRU
	return c
}

// idleHour is the cost of one idle listener for an hour at linkTimeout
// when each listener takes perPeriod stream invocations per LINK_TIMEOUT
// (billed and read as the measured idle ones), and the invocations it
// takes in the hour.
func (m costModel) idleHour(linkTimeout time.Duration, perPeriod float64) (float64, float64) {
	id := m.rep.Idle
	inv := float64(id.Usage.invocationsStream)
	msPer, rruPer := 2.0, 1.0
	if inv > 0 {
		msPer, rruPer = id.Usage.BilledMs/inv, id.Usage.DDB.RRU/inv
	}
	perHour := perPeriod * 3600 / linkTimeout.Seconds()
	one := m.p.LambdaRequest + msPer/1000*m.gb("StreamFunction")*m.p.LambdaGBs + m.p.HTTPRequest + rruPer*m.p.RRU
	return perHour*one + 60*m.p.FanoutMinute, perHour
}

// measuredPerPeriod is the stream invocations per idle listener per
// LINK_TIMEOUT measured through Pushpin.
func (m costModel) measuredPerPeriod() float64 {
	id := m.rep.Idle
	if id.Listeners == 0 || id.Window <= 0 || id.LinkTimeout <= 0 {
		return math.NaN()
	}
	return float64(id.Usage.invocationsStream) / float64(id.Listeners) / (id.Window.Seconds() / id.LinkTimeout.Seconds())
}

// write renders docs/cost.md.
func (r costReport) write(w io.Writer, p priceList, params costParams) error {
	m := costModel{rep: r, p: p, params: params}
	var b strings.Builder
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	usd := func(v float64) string {
		switch {
		case math.IsNaN(v):
			return "–"
		case v >= 100:
			return fmt.Sprintf("$%.0f", v)
		case v >= 1:
			return fmt.Sprintf("$%.2f", v)
		case v >= 0.001 || v == 0:
			return fmt.Sprintf("$%.4f", v)
		default:
			return fmt.Sprintf("$%.2g", v)
		}
	}
	pf("# Cost per message and per listener")
	pf("")
	pf("<!-- Generated by `make cost` (tools/cmd/bench -cost-out docs/cost.md); edit the generator, not this file. -->")
	pf("")
	pf("What a message and a listener cost on AWS (+ Fanout), computed from what the code does on the local stack: the")
	pf("workload runs against Pushpin, the API Gateway emulator, the functions and DynamoDB Local, and every billable")
	pf("unit is counted there — function invocations and their handler durations (from the functions' request log, each")
	pf("rounded up to the millisecond as Lambda bills), API Gateway requests (every request that reaches a function:")
	pf("sends, history, holds, and every next-link call Pushpin makes), DynamoDB calls and the read/write request units")
	pf("DynamoDB Local reports with `ReturnConsumedCapacity`, publishes to the proxy and the frames delivered to the")
	pf("listeners. Those counts are then priced with the public prices below.")
	pf("")
	pf("Run %s on %s; whole run %s. Memory as configured in template.yaml (%d MB send, %d MB stream); LINK_TIMEOUT default %s.",
		r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Machine, r.Elapsed.Round(time.Second),
		r.MemoryMB["SendFunction"], r.MemoryMB["StreamFunction"], r.DefaultLinkTimeout)
	pf("")
	pf("## Prices (looked up %s; US East, on-demand, free tiers left out)", pricesLookedUp)
	pf("")
	pf("| service | price | source |")
	pf("|---|---|---|")
	for _, s := range p.sources {
		pf("| %s | %s | %s |", s[0], s[1], s[2])
	}
	pf("")
	if p.fanoutMessageSet || p.fanoutMinSet {
		pf("Fanout priced here at $%.2f per 1M messages and $%.2f per 1M connection-minutes (the -fanout-* parameters: not public prices).",
			p.FanoutMessage*1e6, p.FanoutMinute*1e6)
	} else {
		pf("Fanout's rate is not public, so the tables give its **message count** and leave its price out of the totals; the")
		pf("break-even below says what Fanout may charge before the goal fails (`make cost COSTFLAGS='-fanout-message-price X'` prices it).")
	}
	pf("")
	pf("## Measured: what one message and one listener make the origin do")
	pf("")
	pf("%d messages per listener count, one at a time, each waited for until every listener had it.", r.Samples[0].Messages)
	pf("")
	pf("| listeners | invocations / message (send, stream) | billed ms / message | API requests / message | DynamoDB calls | WRU / message (DynamoDB's rules; as DynamoDB Local reports) | RRU / message | publishes / message | frames delivered / message | subscribe: invocations / listener | subscribe: API requests / listener |")
	pf("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, x := range r.Samples {
		n := float64(x.Messages)
		u := x.PerMessage
		calls := ddbUsage{Calls: map[string]int{}}
		for op, c := range u.DDB.Calls {
			calls.Calls[op] = c
		}
		l := float64(x.Listeners)
		pf("| %d | %.2f, %.2f | %.2f | %.2f | %s (for %d) | %.2f; %.2f | %.2f | %.2f | %.1f | %.2f | %.2f |", x.Listeners,
			float64(u.Invocations[load.RouteSend])/n, float64(u.Invocations[load.RouteStream])/n, u.BilledMs/n, float64(u.apiRequests)/n,
			calls.calls(), x.Messages, u.DDB.BilledWRU/n, u.DDB.WRU/n, u.DDB.RRU/n, float64(u.Items)/n, float64(x.Deliveries)/n,
			float64(x.Subscribe.invocationsStream)/l, float64(x.Subscribe.apiRequests)/l)
	}
	pf("")
	if id := r.Idle; id.Listeners > 0 {
		inv := float64(id.Usage.invocationsStream)
		pf("Idle: %d listeners watched for %s with LINK_TIMEOUT=%s made %d stream invocations (%.2f per listener per LINK_TIMEOUT), "+
			"%.2f billed ms and %.2f RRU each.", id.Listeners, id.Window.Round(time.Second), id.LinkTimeout, id.Usage.invocationsStream,
			inv/float64(id.Listeners)/(id.Window.Seconds()/id.LinkTimeout.Seconds()), id.Usage.BilledMs/math.Max(inv, 1), id.Usage.DDB.RRU/math.Max(inv, 1))
		pf("")
	}
	if lv := r.Live; lv.Listeners > 0 {
		l := float64(lv.Listeners)
		pf("Live (the web page's stream, `?live=1`, as it opens it): %d listeners, each its own signed-in user, in a room of their own, "+
			"with LINK_TIMEOUT=%s and PRESENCE_TTL=%s (a refresh gap of %s, below the cadence of the links). Opening them took %.2f stream "+
			"invocations, %.2f DynamoDB calls (%s), %.2f WRU, %.2f RRU and %.2f publishes per listener, and each received %.1f frames (%s).",
			lv.Listeners, lv.LinkTimeout, lv.PresenceTTL, min(chat.MaxRefreshGap, lv.PresenceTTL/4),
			float64(lv.Open.invocationsStream)/l, float64(lv.Open.DDB.total())/l, lv.Open.DDB.calls(), lv.Open.DDB.BilledWRU/l, lv.Open.DDB.RRU/l,
			float64(lv.Open.Publishes)/l, float64(frameTotal(lv.OpenFrame))/l, frameList(lv.OpenFrame))
		if lr, ok := lv.rates(); ok {
			pf("Then, watched for %s with nothing sent: %d stream invocations (**%.2f per listener per LINK_TIMEOUT**: each listener's next link "+
				"came every LINK_TIMEOUT + %.2f s, the lag added to the default below), each %.2f billed ms, "+
				"%.2f DynamoDB calls (%s in all), %.2f WRU, %.2f RRU and %.2f publishes; the listeners received %s, "+
				"**%.2f presence frames per publish per listener**: each refresh reached every live listener of the room (priced as 1; "+
				"what a window misses of it is its edges and the moments a stream is between two holds, a share of about lag / LINK_TIMEOUT).",
				lv.Window.Round(time.Second), lv.Usage.invocationsStream, lr.PerPeriod, lr.Lag, lr.Ms, lr.Calls, lv.Usage.DDB.calls(), lr.WRU, lr.RRU,
				lr.Publishes, frameList(lv.Frames), lr.Reach)
		} else {
			pf("Then, watched for %s: no stream invocation or publish to derive rates from (%d invocations, %d publishes).",
				lv.Window.Round(time.Second), lv.Usage.invocationsStream, lv.Usage.Publishes)
		}
		pf("")
	}
	pf("## Cost of 1M messages")
	pf("")
	pf("Connection time is left out here (it is per listener-hour, below). This port: one send invocation and one HTTP API")
	pf("request per message whatever the number of listeners, one DynamoDB transaction, one publish; the proxy writes to")
	pf("the listeners. The AWS WebSocket chat sample's design (aws-samples/simple-websockets-chat-app): the message is a")
	pf("WebSocket API message, one Lambda invocation Scans the connections table and calls PostToConnection for each")
	pf("connection, and each of those is a WebSocket message too. AppSync: one mutation (DynamoDB resolver, one PutItem)")
	pf("and one real-time update per subscriber.")
	pf("")
	pf("| listeners | this port: AWS (Lambda + HTTP API + DynamoDB) | Fanout messages | WebSocket sample | AppSync | WebSocket sample / this port (AWS) | AppSync / this port (AWS) |")
	pf("|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range []int{1, 100, 1000, 10000} {
		o, _, ext := m.ours(s)
		ws, as := m.webSocketSample(s), m.appSync(s)
		mark := ""
		if ext {
			mark = " (origin extrapolated)"
		}
		fan := fmt.Sprintf("%.0fM", o.FanoutMessages)
		if p.fanoutMessageSet {
			fan += " (" + usd(o.Fanout*1e6) + ")"
		}
		pf("| %d%s | %s (%s + %s + %s) | %s | %s | %s | %.1f× | %.1f× |", s, mark, usd(o.aws()*1e6), usd(o.Lambda*1e6), usd(o.API*1e6), usd(o.DynamoDB*1e6),
			fan, usd(ws.total()*1e6), usd(as.total()*1e6), ws.total()/o.total(), as.total()/o.total())
	}
	pf("")
	o100, _, _ := m.ours(100)
	ws100 := m.webSocketSample(100)
	goal := ws100.total() / 20
	pf("**Goal, at 100 listeners: this port ≤ 1/20 of the WebSocket sample.** This port's AWS bill is %s per 1M messages, "+
		"the sample's %s: **%.1f×** cheaper (1/20 is %s).", usd(o100.total()*1e6), usd(ws100.total()*1e6), ws100.total()/o100.total(), usd(goal*1e6))
	if o100.aws() <= goal {
		pf("**Met** for the AWS bill.")
	} else {
		x, _ := m.sampleFor(100)
		short := math.Ceil((o100.aws() - goal) / m.p.WRU)
		pf("**Not met**: the AWS part alone is %.2f× the 1/20 mark. Its largest line is DynamoDB, %s of %s: %.0f WRU per message "+
			"(%s for %d messages): the send's transaction writes three items (head, event, idempotency key) at 2 WRU each "+
			"plus the event's entry in the byUser index (1 WRU)%s. %.0f WRU less per message would meet it.",
			o100.aws()/goal, usd(o100.DynamoDB*1e6), usd(o100.aws()*1e6),
			x.PerMessage.DDB.BilledWRU/float64(x.Messages), x.PerMessage.DDB.calls(), x.Messages, limiterNote(x), short)
	}
	if o100.FanoutMessages > 0 {
		if be := (goal - o100.aws()) / o100.FanoutMessages * 1e6; be > 0 {
			pf("With Fanout's %.0f messages per message (1 publish + 100 deliveries) the goal holds while Fanout costs at most "+
				"**%s per 1M Fanout messages**.", o100.FanoutMessages, usd(be))
		}
		pf("Fanout counts %.0f messages per message here (1 publish + 100 deliveries), as many as the sample's WebSocket "+
			"messages: priced like the WebSocket API's $1.00 per 1M, the total would be %s, %.2f× the sample's. Where the saving "+
			"lies is the origin (no per-listener invocation, Scan or PostToConnection), not the delivery.",
			o100.FanoutMessages, usd((o100.aws()+o100.FanoutMessages*1e-6)*1e6), (o100.aws()+o100.FanoutMessages*1e-6)/ws100.total())
	}
	pf("")
	pf("## One idle listener for an hour")
	pf("")
	lt := r.DefaultLinkTimeout
	pf("| design | what an idle listener costs | invocations / hour | Fanout messages / hour: per listener; per room | per hour | per 1,000 listeners for 30 days |")
	pf("|---|---|---:|---:|---:|---:|")
	if per := m.measuredPerPeriod(); !math.IsNaN(per) {
		c, n := m.idleHour(lt, per)
		pf("| this port through Pushpin, plain stream, LINK_TIMEOUT %s, as measured | next-link checks (Pushpin makes one request for holds with the same next link) | %.3f | 0 | %s | %s |",
			lt, n, usd(c), usd(c*1000*24*30))
	}
	lr, liveOK := r.Live.rates()
	if liveOK {
		for _, n := range liveRoomSizes {
			h := m.liveHour(lr, lt, n)
			who := count(float64(n)) + " live listeners"
			if n == 1 {
				who = "1 live listener"
			}
			pf("| this port, the web page's live stream (`?live=1`), %s in the room, LINK_TIMEOUT %s, as measured | "+
				"a next link every LINK_TIMEOUT (per visitor; the clock channel keeps it in a busy room too): Lambda + HTTP API request, "+
				"%.0f DynamoDB calls (presence UpdateItem, resume Query), one presence publish; the proxy delivers each publish to every live listener | %.0f | %s; %s | %s | %s |",
				who, lt, lr.Calls, h.Invocations, count(h.FanoutListener), count(h.FanoutRoom), usd(h.AWS+h.Fanout), usd((h.AWS+h.Fanout)*1000*24*30))
		}
	}
	for i, alt := range []time.Duration{lt, 30 * time.Second, 60 * time.Second, 300 * time.Second} {
		if i > 0 && alt == lt {
			continue // the default's row is the first
		}
		c, n := m.idleHour(alt, 1)
		pf("| this port, one next-link call per listener per LINK_TIMEOUT (upper bound), LINK_TIMEOUT %s | Lambda + HTTP API request + one head read each | %.0f | 0 | %s | %s |",
			alt, n, usd(c), usd(c*1000*24*30))
	}
	wsIdle := 60*p.WSMinute + 6*p.WSMessage + 0.5*(2*p.LambdaRequest+2*m.wsSendMs(0)/1000*m.gb("SendFunction")*p.LambdaGBs+2*p.WRU)
	pf("| WebSocket sample | 60 connection-minutes, a client ping every 10 min (idle timeout), a reconnect every 2 h (connect/disconnect invocations, a put and a delete) | 1 | – | %s | %s |",
		usd(wsIdle), usd(wsIdle*1000*24*30))
	asIdle := 60 * p.AppSyncMinute
	pf("| AppSync | 60 connection-minutes | 0 | – | %s | %s |", usd(asIdle), usd(asIdle*1000*24*30))
	pf("")
	if liveOK {
		h1, hBig := m.liveHour(lr, lt, 1), m.liveHour(lr, lt, liveRoomSizes[len(liveRoomSizes)-1])
		upper, _ := m.idleHour(lt, 1)
		big := liveRoomSizes[len(liveRoomSizes)-1]
		pf("**The web page's stream.** The page always opens its stream with `?live=1` (presence and typing). A live stream's next")
		pf("link names its visitor, so the proxy fetches one per listener per LINK_TIMEOUT (%.0f an hour; plain streams share theirs,",
			h1.Invocations)
		pf("and the clock channel keeps the cadence in a busy room too), and each refreshes the visitor's presence (one conditional")
		pf("UpdateItem, %.0f WRU an hour) and publishes a `presence` event. The AWS part, %s per listener-hour (%s Lambda + %s HTTP",
			h1.WRU, usd(h1.AWS), usd(h1.Lambda), usd(h1.API))
		pf("API + %s DynamoDB; %s per 1,000 listeners for 30 days, %.1f× the plain stream's upper bound, the same invocations",
			usd(h1.DynamoDB), usd(h1.AWS*1000*24*30), h1.AWS/upper)
		pf("without the presence write), does not depend on the room's size.")
		pf("")
		pf("**The N² term.** The proxy delivers each of the room's `presence` publishes to every live listener: N listeners make about")
		pf("N publishes and N² deliveries per LINK_TIMEOUT, %s publishes and %s·N deliveries per listener-hour, N times that per",
			count(h1.Publishes), count(h1.Publishes))
		pf("room-hour. Fanout counts both as messages: at 100 listeners %s per room-hour, at %s %s (%s deliveries a second at the",
			count(m.liveHour(lr, lt, 100).FanoutRoom), count(float64(big)), count(hBig.FanoutRoom), count(hBig.Deliveries*float64(big)/3600))
		pf("proxy). None of it is on the AWS bill; priced like the WebSocket API's $1.00 per 1M messages, it would be %.1f× the AWS",
			h1.FanoutListener*1e-6/h1.AWS)
		pf("part of a listener-hour for a listener alone in a room, %.0f× at 100 listeners.", m.liveHour(lr, lt, 100).FanoutListener*1e-6/h1.AWS)
		pf("")
		pf("What would remove the N² term (not built): one roster per room per interval instead of one `presence` event per")
		pf("refresh. The refreshes would keep writing their presence items and publish nothing; the first refresh of each interval")
		pf("(elected by a conditional UpdateItem on a room item) would Query the room's presence items and publish one `presence-list`,")
		pf("delivered N times: O(N) deliveries per interval, %s Fanout messages per room-hour at %s listeners with a LINK_TIMEOUT",
			count(rosterRoomHour(lt, big)), count(float64(big)))
		pf("interval instead of %s, for one more Query per room per interval (about %.0f RRU at %s, strongly consistent) and up to",
			count(hBig.FanoutRoom), math.Ceil(float64(big)*presenceItemBytes/4096), count(float64(big)))
		pf("one interval before a newcomer appears to the others (the newcomer gets the list at once, as now).")
		pf("")
	}
	pf("## What this does not measure")
	pf("")
	pf("- Fanout's price (not public) and its connection-minutes; data transfer out (the same bytes in every design); CloudWatch Logs")
	pf("  ingestion of the request log lines; Lambda INIT time on cold starts (a cold start is about one in many thousand")
	pf("  warm invocations at steady load).")
	pf("- Billed durations are the handler durations measured here (x86 under load, DynamoDB Local on the same 2 cores), not")
	pf("  a Graviton's next to DynamoDB; the invocation counts, API requests and request units do not depend on the machine.")
	pf("- The WebSocket sample's billed duration is not measured: it is taken as this port's send (%.0f ms) plus %.1f ms per",
		m.wsSendMs(0), params.WSPostMs)
	pf("  PostToConnection — generous to the sample, whose Lambda waits on S HTTPS calls. Its Scan reads %.0f bytes per connection.", params.WSConnBytes)
	pf("- A cancelled transaction (a lost race for the next id) is billed as the writes it attempted; the counts above are")
	pf("  of uncontended messages, one writer at a time, as a chat room mostly is.")
	_, err := io.WriteString(w, b.String())
	return err
}

// liveRoomSizes are the room sizes the live rows price.
var liveRoomSizes = []int{1, 100, 1000, 10000}

// presenceItemBytes is about the size of one presence item (keys, at,
// until, expiresAt) that a roster's Query would read.
const presenceItemBytes = 100

// count formats a count with thousands separators ("1,234"), or in
// millions ("1.2 million") and billions when large.
func count(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1e9:
		return fmt.Sprintf("%.3g billion", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3g million", v/1e6)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// frameTotal is the number of frames of every type.
func frameTotal(frames map[string]int) int {
	n := 0
	for _, c := range frames {
		n += c
	}
	return n
}

// frameList formats frames by type as "presence 12, presence-list 3" in a
// stable order.
func frameList(frames map[string]int) string {
	return ddbUsage{Calls: frames}.calls()
}

// limiterNote names the abuse limiter's write when the sends made one.
func limiterNote(x costSample) string {
	if x.PerMessage.DDB.Calls["UpdateItem"] == 0 {
		return ""
	}
	return ", and the abuse limiter's token bucket is an UpdateItem of its own (1 WRU)"
}
