package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// sendResult is one message send as the page makes it: the first attempt,
// then the same clientId again while the answer says to.
type sendResult struct {
	id       int64
	start    time.Time     // the first attempt's start
	stored   time.Time     // the start of the attempt that stored it
	took     time.Duration // until the final answer
	attempts int
	ok       bool
	// statuses are the answers of the failed attempts (0: no answer).
	statuses []int
}

// sender posts messages to the API as the edge forwards them, and resends
// with the same clientId the way the page does: transparently on a 503
// with Retry-After (a busy room), and for the soak also on any other 5xx or
// network failure (a dying DynamoDB Local), which the page leaves to its
// user's resend, within a bound.
type sender struct {
	api, apiKey, user, room string
	client                  *http.Client
	// busyRetries bounds the resends after busy answers, as the page's
	// BUSY_RETRIES; otherRetryFor bounds the resends after other failures
	// (0: none, the failure is the client's).
	busyRetries   int
	otherRetryFor time.Duration
}

// send sends one message and returns what happened.
func (s *sender) send(ctx context.Context, text string) sendResult {
	res := sendResult{start: time.Now()}
	clientID := newUUID()
	body, _ := json.Marshal(map[string]string{"text": text, "clientId": clientID})
	busy := 0
	for {
		res.attempts++
		attempt := time.Now()
		status, id, retryAfter, err := s.post(ctx, body)
		if err == nil && (status == http.StatusCreated || status == http.StatusOK) {
			res.id, res.ok, res.took, res.stored = id, true, time.Since(res.start), attempt
			return res
		}
		res.statuses = append(res.statuses, status)
		if ctx.Err() != nil {
			res.took = time.Since(res.start)
			return res
		}
		switch {
		case status == http.StatusServiceUnavailable && retryAfter >= 0 && busy < s.busyRetries:
			busy++
			// The page's pause: Retry-After stretched by up to a half.
			d := time.Duration(max(retryAfter, 0.25) * float64(time.Second))
			sleepCtx(ctx, d+time.Duration(float64(d)*0.5*mrand.Float64()))
		case (status == 0 || status >= 500) && s.otherRetryFor > 0 && time.Since(res.start) < s.otherRetryFor:
			sleepCtx(ctx, jittered(500*time.Millisecond))
		default:
			res.took = time.Since(res.start)
			return res
		}
	}
}

// post makes one attempt; retryAfter is the Retry-After header in seconds
// (-1: absent).
func (s *sender) post(ctx context.Context, body []byte) (status int, id int64, retryAfter float64, err error) {
	retryAfter = -1
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api+"/room/"+s.room+"/messages", bytes.NewReader(body))
	if err != nil {
		return 0, 0, retryAfter, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", s.apiKey)
	req.Header.Set("X-User", s.user)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, retryAfter, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, 0, retryAfter, err
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			retryAfter = float64(n)
		}
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, retryAfter, fmt.Errorf("send: %s", resp.Status)
	}
	var m struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ID < 1 {
		return resp.StatusCode, 0, retryAfter, fmt.Errorf("send: answer without an id: %.200s", b)
	}
	return resp.StatusCode, m.ID, retryAfter, nil
}

// sendLog collects the sends of a run.
type sendLog struct {
	mu      sync.Mutex
	results []sendResult
}

func (l *sendLog) add(r sendResult) {
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

func (l *sendLog) all() []sendResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sendResult(nil), l.results...)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
