package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/edge"
	"github.com/fanout-chat/serverless-chat/tools/load"
)

// liveRoom is the room of the cost workload's live listeners.
const liveRoom = "bench-live"

// liveSample is the usage of live listeners (the web page's stream,
// ?live=1, each its own signed-in user) in a room of their own: opening
// them, then a window of LINK_TIMEOUTs with nothing sent.
type liveSample struct {
	Listeners   int
	Window      time.Duration
	LinkTimeout time.Duration
	// PresenceTTL is the run's PRESENCE_TTL.
	PresenceTTL time.Duration
	// Usage and Frames (by event type) are the window's; Open and
	// OpenFrames those of opening every listener, until the proxy's checks
	// of the new holds are over.
	Usage, Open       usage
	Frames, OpenFrame map[string]int
}

// liveListeners are streams opened as the web page opens its stream:
// ?live=1, each as its own signed-in user (the edge stand-in's identity
// cookie). They count the frames they receive by event type.
type liveListeners struct {
	*load.Streams

	mu     sync.Mutex
	frames map[string]int
}

// openLive opens n live listeners to room through Pushpin, at most
// b.cfg.ConnectParallel at a time, as users live-0 … live-<n-1>, and
// returns once each has its response headers.
func (b *bench) openLive(ctx context.Context, room string, n int) (*liveListeners, error) {
	ls := &liveListeners{frames: map[string]int{}}
	u := b.stack.URL() + "/room/" + room + "/events?live=1"
	newRequest := func(ctx context.Context, i int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Cookie", edge.UserCookie+"="+url.QueryEscape(fmt.Sprintf("live-%d", i)))
		return req, nil
	}
	read := func(_ int, body io.Reader) error {
		return load.ReadAllFrames(body, func(f load.Frame) {
			event := f.Event
			if event == "" {
				event = "message"
			}
			ls.mu.Lock()
			ls.frames[event]++
			ls.mu.Unlock()
		}, nil)
	}
	ss, err := load.OpenStreams(ctx, b.listenClient, n, b.cfg.ConnectParallel, newRequest, read)
	if err != nil {
		return nil, fmt.Errorf("live listeners: %w", err)
	}
	ls.Streams = ss
	return ls, nil
}

// counts returns the frames received so far by event type.
func (ls *liveListeners) counts() map[string]int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return maps.Clone(ls.frames)
}

// minusFrames returns a − b by event type.
func minusFrames(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range a {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// liveRun measures cfg.LiveListeners live listeners in liveRoom: opening
// them, then cfg.Idle with nothing sent, in which each stream's next link
// comes once per LINK_TIMEOUT, refreshes its visitor's presence and
// publishes a presence event to every live listener of the room.
func (b *bench) liveRun(ctx context.Context, cfg costConfig) (liveSample, error) {
	n := cfg.LiveListeners
	s := liveSample{Listeners: n, LinkTimeout: time.Duration(cfg.LinkTimeout) * time.Second, PresenceTTL: cfg.presenceTTL()}
	b.progress.Info("cost workload: live listeners", "listeners", n, "window", cfg.Idle.String(), "linkTimeout", cfg.LinkTimeout)
	// A room that has had a message, as a room people open has: the
	// streams' resume read then finds its head, as it would there (in a
	// room never written to, it reads nothing and costs no read unit).
	if _, err := b.sendOrigin(ctx, liveRoom, 1); err != nil {
		return s, fmt.Errorf("cost: the live room's message: %w", err)
	}
	b.calls.Settle(ctx, load.RouteSend, 300*time.Millisecond, 5*time.Second)
	m := b.mark()
	ls, err := b.openLive(ctx, liveRoom, n)
	if err != nil {
		return s, fmt.Errorf("cost: open %d live listeners: %w", n, err)
	}
	defer ls.Close()
	// The holds, then Pushpin's check of each a second later; the next
	// links come a LINK_TIMEOUT after the holds, so settling stops there.
	b.calls.Settle(ctx, load.RouteStream, 1500*time.Millisecond, s.LinkTimeout)
	s.Open, s.OpenFrame = b.since(m), ls.counts()

	m, f0, t0 := b.mark(), ls.counts(), time.Now()
	select {
	case <-ctx.Done():
		return s, ctx.Err()
	case <-time.After(cfg.Idle):
	}
	s.Usage, s.Frames, s.Window = b.since(m), minusFrames(ls.counts(), f0), time.Since(t0)
	return s, nil
}

// liveRates are a live listener's measured rates: stream invocations per
// listener per LINK_TIMEOUT, and Lag, the seconds by which the time
// between two of a listener's next links exceeds LINK_TIMEOUT (the proxy
// fetches a link a little after its timeout, and the new hold's timer
// starts when the answer arrives); per invocation, billed milliseconds,
// DynamoDB calls, billed write units, read units and publishes. Reach is
// the presence frames each publish put in each live listener's stream (1:
// the proxy delivered every publish to every live listener of the room).
type liveRates struct {
	PerPeriod, Lag, Ms, Calls, WRU, RRU, Publishes, Reach float64
}

// rates derives the live rates from the window; false when the window
// holds no stream invocation or publish to derive them from.
func (s liveSample) rates() (liveRates, bool) {
	inv := float64(s.Usage.invocationsStream)
	if s.Listeners == 0 || s.Window <= 0 || s.LinkTimeout <= 0 || inv == 0 || s.Usage.Publishes == 0 {
		return liveRates{}, false
	}
	periods := s.Window.Seconds() / s.LinkTimeout.Seconds()
	return liveRates{
		PerPeriod: inv / float64(s.Listeners) / periods,
		Lag:       max(0, s.Window.Seconds()*float64(s.Listeners)/inv-s.LinkTimeout.Seconds()),
		Ms:        s.Usage.BilledMs / inv,
		Calls:     float64(s.Usage.DDB.total()) / inv,
		WRU:       s.Usage.DDB.BilledWRU / inv,
		RRU:       s.Usage.DDB.RRU / inv,
		Publishes: float64(s.Usage.Publishes) / inv,
		Reach:     float64(s.Frames["presence"]) / float64(s.Usage.Publishes) / float64(s.Listeners),
	}, true
}

// liveHour is one live listener's hour in a room of N live listeners.
type liveHour struct {
	// Invocations, Calls, WRU, RRU and Publishes are the origin's work for
	// the listener: the same whatever N.
	Invocations, Calls, WRU, RRU, Publishes float64
	// Deliveries is the presence frames the proxy writes to the listener:
	// the publishes of all N listeners (its own included), each reaching it.
	Deliveries float64
	// FanoutListener and FanoutRoom are Fanout messages (publishes received
	// plus messages sent to end users) per listener-hour and per room-hour.
	FanoutListener, FanoutRoom float64
	// Lambda, API (HTTP API requests) and DynamoDB make AWS; Fanout
	// (messages and connection-minutes, 0 where not priced): dollars per
	// listener-hour.
	Lambda, API, DynamoDB, AWS, Fanout float64
}

// liveHour prices one live listener's hour at linkTimeout in a room of n
// live listeners, from the measured rates r: every listener's next link
// comes every linkTimeout plus the measured lag, and each publish of any
// of them is delivered to all n, as the live channel does (r.Reach
// measures it; what it misses of 1 is the window's edges and the moments a
// stream is between holds), so the room's deliveries grow as n².
func (m costModel) liveHour(r liveRates, linkTimeout time.Duration, n int) liveHour {
	inv := 3600 / (linkTimeout.Seconds() + r.Lag)
	h := liveHour{Invocations: inv, Calls: inv * r.Calls, WRU: inv * r.WRU, RRU: inv * r.RRU, Publishes: inv * r.Publishes}
	h.Deliveries = float64(n) * h.Publishes
	h.FanoutListener = h.Publishes + h.Deliveries
	h.FanoutRoom = float64(n) * h.FanoutListener
	h.Lambda = inv * (m.p.LambdaRequest + r.Ms/1000*m.gb("StreamFunction")*m.p.LambdaGBs)
	h.API = inv * m.p.HTTPRequest
	h.DynamoDB = h.WRU*m.p.WRU + h.RRU*m.p.RRU
	h.AWS = h.Lambda + h.API + h.DynamoDB
	h.Fanout = h.FanoutListener*m.p.FanoutMessage + 60*m.p.FanoutMinute
	return h
}

// rosterRoomHour is the Fanout messages per room-hour of the design that
// would remove the n² term (not built): one roster of the room's members
// published per interval instead of a presence event per refresh, n
// deliveries each.
func rosterRoomHour(interval time.Duration, n int) float64 {
	return 3600 / interval.Seconds() * float64(1+n)
}
