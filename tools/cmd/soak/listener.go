package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
)

// receipt is one event a listener received.
type receipt struct {
	id int64
	at time.Time
	// since is when the connection that carried it opened: a receipt whose
	// send started after it was delivered live, not replayed on a
	// reconnect.
	since time.Time
}

// listener is one SSE client of a room that stays connected for the whole
// run as the page does: when its stream ends (or it drops it on purpose)
// it reconnects with Last-Event-ID after a jittered back-off, and it checks
// every id it gets against what it had.
type listener struct {
	url    string
	client *http.Client
	// dropEvery is the mean time between disconnects on purpose (0: none).
	dropEvery time.Duration
	// immediate makes the listener reconnect at once after a dropped
	// stream instead of after the server's retry field, as a browser does:
	// the unjittered baseline of a storm.
	immediate bool
	// retry is the last SSE retry field received (as int64 nanoseconds).
	retry atomic.Int64

	mu       sync.Mutex
	last     int64 // highest id received
	contig   int64 // every id up to contig was received
	got      map[int64]bool
	receipts []receipt
	dups     int // ids received again
	disorder int // ids received after a higher one, or skipping one
	resets   int // stream-reset frames (never expected)
	// skips describe the first out-of-order receipts, for the report.
	skips []string

	connected                      atomic.Bool
	connects, drops, connectErrors atomic.Int64
	errorsByStatus                 sync.Map // status (0: network) → *atomic.Int64
}

func newListener(url string, client *http.Client, dropEvery time.Duration) *listener {
	return &listener{url: url, client: client, dropEvery: dropEvery, got: map[int64]bool{}}
}

// run keeps the listener connected until ctx ends. ready is called once,
// after the first connection is open.
func (l *listener) run(ctx context.Context, ready func()) {
	backoff := time.Second
	first := true
	for ctx.Err() == nil {
		status, err := l.connectOnce(ctx, func() {
			backoff = time.Second
			if first {
				first = false
				ready()
			}
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.connectErrors.Add(1)
			l.countError(status)
			// The page's back-off: jittered, doubling, at most 15 s.
			sleepCtx(ctx, jittered(backoff))
			backoff = min(backoff*2, 15*time.Second)
			continue
		}
		// The stream ended (a drop on purpose or a proxy restart): the
		// browser reconnects after the server's retry field (which the
		// server jitters), 3 s when it sent none.
		if !l.immediate {
			wait := time.Duration(l.retry.Load())
			if wait <= 0 {
				wait = 3 * time.Second
			}
			sleepCtx(ctx, wait)
		}
	}
}

// connectOnce holds one connection until it ends; opened is called once
// the answer's headers are in.
func (l *listener) connectOnce(ctx context.Context, opened func()) (int, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, l.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// As the page: the first stream starts from the id its history read
	// ended at (0 in the fresh room), a reconnect from the last id seen.
	l.mu.Lock()
	last := l.last
	l.mu.Unlock()
	req.Header.Set("Last-Event-ID", strconv.FormatInt(last, 10))
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, fmt.Errorf("listen: %s", resp.Status)
	}
	since := time.Now()
	l.connects.Add(1)
	l.connected.Store(true)
	defer l.connected.Store(false)
	opened()
	if l.dropEvery > 0 {
		// A disconnect on purpose after an exponentially distributed
		// time, as a flaky phone network would.
		after := time.Duration(rand.ExpFloat64() * float64(l.dropEvery))
		t := time.AfterFunc(after, func() { l.drops.Add(1); cancel() })
		defer t.Stop()
	}
	_ = load.ReadFrames(resp.Body, func(f load.Frame) { l.receive(f, since) }, func(d time.Duration) { l.retry.Store(int64(d)) })
	return resp.StatusCode, nil
}

// receive checks one frame against what the listener had.
func (l *listener) receive(f load.Frame, since time.Time) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if f.Event == "stream-reset" {
		l.resets++
		return
	}
	switch {
	case l.got[f.ID]:
		l.dups++
		return
	case f.ID != l.last+1:
		l.disorder++
		if len(l.skips) < 5 {
			l.skips = append(l.skips, fmt.Sprintf("had %d, got %d, %s into a connection opened %s", l.last, f.ID,
				now.Sub(since).Round(time.Millisecond), since.Format("15:04:05.000")))
		}
	}
	l.got[f.ID] = true
	l.last = max(l.last, f.ID)
	for l.got[l.contig+1] {
		l.contig++
	}
	l.receipts = append(l.receipts, receipt{id: f.ID, at: now, since: since})
}

// countError counts a failed connect by status (0: no answer).
func (l *listener) countError(status int) {
	v, _ := l.errorsByStatus.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// has reports whether the listener received every id up to id.
func (l *listener) has(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.contig >= id
}

// jittered returns a random duration in [d/2, d).
func jittered(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
