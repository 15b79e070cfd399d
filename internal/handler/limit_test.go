package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/internal/limit/limittest"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// limitedSend returns the fixture's send handler behind an in-memory
// limiter with rules, and the limiter (its clock stands still at a fixed
// time).
func limitedSend(t *testing.T, f *fixture, rules limit.Rules) (http.Handler, *limittest.Limiter) {
	t.Helper()
	lim := limittest.New(rules)
	at := time.UnixMilli(1_800_000_000_000)
	lim.Now = func() time.Time { return at }
	return NewSendHandler(f.svc, Auth{APIKeys: []string{testAPIKey}, AdminKey: testAdminKey}, WithLimiter(lim)), lim
}

func TestSendRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	send, _ := limitedSend(t, f, limit.Rules{limit.ActionSend: {Rate: 2, Per: time.Minute, Burst: 2}})
	ev := testkit.Event(t, "send-post-message.json")
	for i := range 2 {
		body := fmt.Sprintf(`{"text":"hello %d","clientId":"8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a6%d"}`, i, i)
		if resp := testkit.Invoke(t, send, testkit.WithBody(ev, body)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("send %d: status %d, want 201; %s", i, resp.StatusCode, resp.Body)
		}
	}
	resp := testkit.Invoke(t, send, testkit.WithBody(ev, `{"text":"one too many","clientId":"8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a69"}`))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third send: status %d, want 429; %s", resp.StatusCode, resp.Body)
	}
	if got := resp.Headers["Retry-After"]; got != "30" {
		t.Errorf("Retry-After = %q, want 30 (one per 30 s)", got)
	}
	var body struct {
		Error      string `json:"error"`
		RetryAfter int    `json:"retryAfter"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.RetryAfter != 30 || !strings.Contains(body.Error, "too many messages") {
		t.Errorf("body = %s (%v), want the wait and what was limited", resp.Body, err)
	}
	if n := len(f.pub.Published()); n != 2 {
		t.Errorf("publishes = %d, want 2: a refused send publishes nothing", n)
	}
	if last := f.store.LastID(t, testRoom); last != 2 {
		t.Errorf("last id = %d, want 2: a refused send stores nothing", last)
	}
	// Another user has a bucket of their own.
	other := testkit.WithHeader(testkit.WithBody(ev, `{"text":"hi"}`), "x-user", "bob")
	if resp := testkit.Invoke(t, send, other); resp.StatusCode != http.StatusCreated {
		t.Errorf("another user: status %d, want 201", resp.StatusCode)
	}
}

// TestSendLimitAfterValidation checks that a request refused for its shape
// takes no token: only writes that would happen count.
func TestSendLimitAfterValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	send, lim := limitedSend(t, f, nil)
	ev := testkit.Event(t, "send-post-message.json")
	for _, bad := range []events.APIGatewayV2HTTPRequest{
		testkit.WithHeader(ev, "x-api-key", ""),
		testkit.WithHeader(ev, "content-type", "text/plain"),
		testkit.WithBody(ev, "[1]"),
	} {
		if resp := testkit.Invoke(t, send, bad); resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("bad request: status %d", resp.StatusCode)
		}
	}
	if n := lim.Calls(); n != 0 {
		t.Errorf("limiter asked %d times for refused requests, want 0", n)
	}
}

// TestLimiterFailureLetsWritesThrough: a broken limiter must not silence the
// chat.
func TestLimiterFailureLetsWritesThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	send, lim := limitedSend(t, f, nil)
	lim.Err = errors.New("dynamodb is down")
	if resp := testkit.Invoke(t, send, testkit.Event(t, "send-post-message.json")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201 (fail open); %s", resp.StatusCode, resp.Body)
	}
}
