package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"
)

// readRoom is the room the read benchmarks page through and listen to.
const readRoom = "bench-read"

// readResult is one kind of request through Pushpin, measured sequentially.
type readResult struct {
	Name string
	// What explains the number in the report.
	What string
	Lat  load.Summary
	// Usage is the origin's work during the measured requests (N of them).
	Usage usage
	N     int
}

// seedReadRoom sends n messages to the read room and returns its last id.
func (b *bench) seedReadRoom(ctx context.Context, n int) (int64, error) {
	var last int64
	for i := range int64(n) {
		id, err := b.sendOrigin(ctx, readRoom, i+1)
		if err != nil {
			return 0, fmt.Errorf("seed %s: %w", readRoom, err)
		}
		last = id
	}
	return last, nil
}

// runReads measures, through Pushpin: the newest history page of 20, the
// room list (the same path without DynamoDB, as a baseline), a new stream
// hold (connect → first byte) and a reconnect that replays 20 events
// (connect → the 20th frame).
func (b *bench) runReads(ctx context.Context, lastID int64) ([]readResult, error) {
	cases := []struct {
		name, what string
		run        func() (time.Duration, error)
	}{
		{"GET /rooms (baseline, no DynamoDB)", "history function, no store call: Pushpin + edge + API emulator + handler",
			func() (time.Duration, error) {
				return b.getJSON(ctx, "/rooms", func(map[string]json.RawMessage) error { return nil })
			}},
		{"history page (limit 20)", "GET /room/{room}/messages?limit=20: one DynamoDB Query",
			func() (time.Duration, error) {
				return b.getJSON(ctx, "/room/"+readRoom+"/messages?limit=20", func(m map[string]json.RawMessage) error {
					var msgs []json.RawMessage
					if err := json.Unmarshal(m["messages"], &msgs); err != nil || len(msgs) != 20 {
						return fmt.Errorf("page has %d messages (%v), want 20", len(msgs), err)
					}
					return nil
				})
			}},
		{"stream hold, new listener", "GET /room/{room}/events: connect → first byte (the hold's headers)",
			func() (time.Duration, error) { return b.hold(ctx, -1, lastID) }},
		{"stream hold, resume 20", "same with Last-Event-ID 20 behind: connect → the 20th replayed frame",
			func() (time.Duration, error) { return b.hold(ctx, lastID-20, lastID) }},
	}
	var out []readResult
	for _, c := range cases {
		var lats []time.Duration
		var m meter
		for i := range b.cfg.Reads + b.cfg.Warmup {
			if i == b.cfg.Warmup {
				m = b.mark()
			}
			d, err := c.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			lats = append(lats, d)
		}
		b.calls.Settle(ctx, load.RouteHistory, 200*time.Millisecond, 3*time.Second)
		out = append(out, readResult{Name: c.name, What: c.what, Lat: load.Summarize(lats[b.cfg.Warmup:]), Usage: b.since(m), N: b.cfg.Reads})
	}
	return out, nil
}

// getJSON GETs path through Pushpin, checks a 200 JSON object with check
// and returns the round trip.
func (b *bench) getJSON(ctx context.Context, path string, check func(map[string]json.RawMessage) error) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.stack.URL()+path, nil)
	if err != nil {
		return 0, fmt.Errorf("request %s: %w", path, err)
	}
	t0 := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("get %s: %s: %s", path, resp.Status, raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	return d, check(m)
}

// hold opens the read room's event stream through Pushpin and closes it.
// With after < 0 it returns the time to the first response byte; otherwise
// it sends Last-Event-ID: after and returns the time until the frame of
// lastID has arrived, checking every id in between came in order.
func (b *bench) hold(ctx context.Context, after, lastID int64) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.stack.URL()+"/room/"+readRoom+"/events", nil)
	if err != nil {
		return 0, fmt.Errorf("hold request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if after >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	}
	var first time.Time
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { first = time.Now() },
	}))
	t0 := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hold: %w", err)
	}
	// Closing a held stream's body drops the connection; that is what a
	// leaving browser does.
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return 0, fmt.Errorf("hold: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if after < 0 {
		return first.Sub(t0), nil
	}
	want := after + 1
	var done time.Time
	errc := make(chan error, 1)
	go func() {
		errc <- load.FrameIDs(resp.Body, func(id int64) {
			if id != want || !done.IsZero() {
				return
			}
			if id == lastID {
				done = time.Now()
				cancel()
			}
			want++
		})
	}()
	select {
	case err := <-errc:
		if done.IsZero() {
			return 0, fmt.Errorf("hold: replay ended at id %d of %d: %v", want-1, lastID, err)
		}
	case <-time.After(b.cfg.DeliveryTimeout):
		cancel()
		<-errc
		return 0, fmt.Errorf("hold: replay reached id %d of %d in %s", want-1, lastID, b.cfg.DeliveryTimeout)
	}
	return done.Sub(t0), nil
}
