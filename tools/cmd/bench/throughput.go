package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Paths a throughput row can take: straight at the API Gateway emulator
// (what Lambda behind API Gateway serves), or through Pushpin and the edge
// stand-in (what a browser reaches).
const (
	pathAPI     = "API emulator"
	pathPushpin = "through Pushpin"
)

// Throughput requests.
const (
	reqSend    = "send"
	reqHistory = "history page"
)

// throughputRooms is how many rooms the sends of one row spread over: one
// writer per room up to concurrency 8, then several writers per room.
const throughputRooms = 8

// throughputRoom is the i-th room the throughput sends go to.
func throughputRoom(i int) string { return "bench-tput-" + strconv.Itoa(i) }

// throughputResult is one request kind, path and concurrency.
type throughputResult struct {
	Request, Path string
	Concurrency   int
	// Requests answered with a 2xx, and the others.
	OK, Failed int
	Elapsed    time.Duration
	Lat        load.Summary
	// Invocations of the request's route and DynamoDB usage during the row.
	Invocations int
	DDB         ddbUsage
}

// perSecond is the answered requests per second.
func (t throughputResult) perSecond() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.OK) / t.Elapsed.Seconds()
}

// runThroughput measures sends and history pages at each concurrency,
// straight at the API emulator and through Pushpin.
func (b *bench) runThroughput(ctx context.Context) ([]throughputResult, error) {
	var out []throughputResult
	seq := int64(0)
	for _, path := range []string{pathAPI, pathPushpin} {
		base := b.stack.APIURL()
		if path == pathPushpin {
			base = b.stack.URL()
		}
		for _, kind := range []string{reqSend, reqHistory} {
			for _, c := range b.cfg.Concurrency {
				b.progress.Info("throughput", "request", kind, "path", path, "concurrency", c)
				route := load.RouteSend
				if kind == reqHistory {
					route = load.RouteHistory
				}
				do := func(ctx context.Context, worker int) error {
					if kind == reqHistory {
						_, err := b.getJSONAt(ctx, base, "/room/"+readRoom+"/messages?limit=20")
						return err
					}
					i := atomic.AddInt64(&seq, 1)
					_, err := b.sendTo(ctx, base, throughputRoom(worker%throughputRooms), 1_000_000+i)
					return err
				}
				// Warm-up: one request per worker.
				if _, err := b.load(ctx, c, c, do); err != nil {
					return nil, fmt.Errorf("throughput warm-up %s %s ×%d: %w", kind, path, c, err)
				}
				calls0, ddb0 := b.calls.Get(route), b.dtap.snapshot()
				res, err := b.load(ctx, c, b.cfg.Requests, do)
				if err != nil {
					return nil, fmt.Errorf("throughput %s %s ×%d: %w", kind, path, c, err)
				}
				res.Request, res.Path = kind, path
				b.calls.Settle(ctx, route, 300*time.Millisecond, 5*time.Second)
				res.Invocations = b.calls.Get(route) - calls0
				res.DDB = b.dtap.snapshot().minus(ddb0)
				out = append(out, res)
			}
		}
	}
	return out, nil
}

// load runs n requests with c workers and measures them. A request that
// fails counts as failed; the run stops early only if the context ends.
func (b *bench) load(ctx context.Context, c, n int, do func(ctx context.Context, worker int) error) (throughputResult, error) {
	var (
		next   atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		lats   = make([]time.Duration, 0, n)
		wg     sync.WaitGroup
	)
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				if err := do(ctx, w); err != nil {
					failed.Add(1)
					continue
				}
				d := time.Since(t0)
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res := throughputResult{Concurrency: c, OK: len(lats), Failed: int(failed.Load()), Elapsed: time.Since(start), Lat: load.Summarize(lats)}
	return res, ctx.Err()
}

// sendTo posts message i to room at base (Pushpin or the API emulator)
// with the headers the edge forwards, and returns the event id it got.
func (b *bench) sendTo(ctx context.Context, base, room string, i int64) (int64, error) {
	body, err := json.Marshal(map[string]string{
		"text":     "bench message " + strconv.FormatInt(i, 10) + " with **some** `markdown` and https://example.com",
		"clientId": clientID(room, i),
	})
	if err != nil {
		return 0, fmt.Errorf("encode send body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/room/"+room+"/messages", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("send request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", b.stack.APIKey())
	req.Header.Set("x-user", "bench")
	req.Header.Set("x-utc-offset", "+00:00")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post message: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("read send answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("post message: %s: %s", resp.Status, raw)
	}
	var m struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, fmt.Errorf("decode send answer %q: %w", raw, err)
	}
	return m.ID, nil
}

// getJSONAt GETs path at base and checks for a 200 JSON answer.
func (b *bench) getJSONAt(ctx context.Context, base, path string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("x-api-key", b.stack.APIKey())
	req.Header.Set("x-user", "bench")
	req.Header.Set("x-utc-offset", "+00:00")
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
	if resp.StatusCode != http.StatusOK || !json.Valid(raw) {
		return 0, fmt.Errorf("get %s: %s: %.200s", path, resp.Status, raw)
	}
	return d, nil
}
