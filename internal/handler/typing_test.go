package handler

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/internal/limit/limittest"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// typingSend returns a send handler that serves typing signals through a
// Live on its own recording publisher, limited by rules.
func typingSend(t *testing.T, f *fixture, rules limit.Rules) (http.Handler, *chattest.Publisher) {
	t.Helper()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatal(err)
	}
	pub := chattest.NewPublisher()
	lv, err := chat.NewLive(pub, rooms)
	if err != nil {
		t.Fatal(err)
	}
	lim := limittest.New(rules)
	at := time.UnixMilli(1_800_000_000_000)
	lim.Now = func() time.Time { return at }
	return NewSendHandler(f.svc, Auth{APIKeys: []string{testAPIKey}}, WithLimiter(lim), WithTyping(lv)), pub
}

// typingEvent is the captured send event turned into a typing signal.
func typingEvent(t *testing.T, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return testkit.WithBody(testkit.WithPath(testkit.Event(t, "send-post-message.json"), http.MethodPost, "/room/"+testRoom+"/typing"), body)
}

func TestTyping(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, pub := typingSend(t, f, nil)
	for _, typing := range []string{"true", "false"} {
		resp := testkit.Invoke(t, h, typingEvent(t, `{"typing":`+typing+`}`))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("typing %s: %d %s, want 204", typing, resp.StatusCode, resp.Body)
		}
	}
	pubs := pub.Published()
	if len(pubs) != 2 {
		t.Fatalf("published %d, want 2", len(pubs))
	}
	wants := []string{
		"event: typing\ndata: {\"room\":\"devops-bcn\",\"user\":\"alice\",\"typing\":true,\"ttl\":6}\n\n",
		"event: typing\ndata: {\"room\":\"devops-bcn\",\"user\":\"alice\",\"typing\":false}\n\n",
	}
	for i, p := range pubs {
		if p.Channel != "room-devops-bcn-live" || p.ID != "" || p.PrevID != "" || string(p.Frame) != wants[i] {
			t.Errorf("publish %d = %s id %q prev %q %q, want %q on the live channel without ids", i, p.Channel, p.ID, p.PrevID, p.Frame, wants[i])
		}
	}
	// Nothing stored, nothing on the room's reliable channel.
	if n := len(f.pub.Published()); n != 0 {
		t.Errorf("%d publishes through the chat service, want 0", n)
	}
	if last := f.store.LastID(t, testRoom); last != 0 {
		t.Errorf("last id = %d, want 0: typing is not an event", last)
	}
}

func TestTypingRefused(t *testing.T) {
	t.Parallel()
	// A malformed body is told the typing body's shape, not a send's.
	const typingShape = `body must be a JSON object {"typing": true}`
	tests := []struct {
		name   string
		edit   func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest
		body   string
		status int
		msg    string
	}{
		{name: "no API key", body: `{"typing":true}`, edit: func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			return testkit.WithHeader(ev, "x-api-key", "")
		}, status: http.StatusUnauthorized, msg: "API key is missing"},
		{name: "no user", body: `{"typing":true}`, edit: func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			return testkit.WithHeader(ev, "x-user", "")
		}, status: http.StatusUnauthorized},
		{name: "invalid user", body: `{"typing":true}`, edit: func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			return testkit.WithHeader(ev, "x-user", "a\u200bb")
		}, status: http.StatusBadRequest},
		{name: "not JSON", body: `{"typing":true}`, edit: func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			return testkit.WithHeader(ev, "content-type", "text/plain")
		}, status: http.StatusUnsupportedMediaType},
		{name: "no typing field", body: `{"text":"x"}`, status: http.StatusBadRequest, msg: typingShape},
		{name: "typing not a boolean", body: `{"typing":"yes"}`, status: http.StatusBadRequest, msg: typingShape},
		{name: "an array", body: `[true]`, status: http.StatusBadRequest, msg: typingShape},
		{name: "lone surrogate escape", body: `{"typing":true,"note":"\ud800"}`, status: http.StatusBadRequest},
		{name: "invalid UTF-8", body: "{\"typing\":true,\"note\":\"\xff\"}", status: http.StatusBadRequest, msg: "request body is not valid UTF-8"},
		{name: "too large", body: `{"typing":true,"pad":"` + strings.Repeat("x", MaxTypingBodyBytes) + `"}`, status: http.StatusRequestEntityTooLarge},
		{name: "unknown room", body: `{"typing":true}`, edit: func(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			return testkit.WithPath(ev, http.MethodPost, "/room/nowhere/typing")
		}, status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			h, pub := typingSend(t, f, nil)
			ev := typingEvent(t, tt.body)
			if tt.edit != nil {
				ev = tt.edit(ev)
			}
			resp := testkit.Invoke(t, h, ev)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, resp.Body, tt.status)
			}
			if msg := testkit.ErrorOf(t, resp); tt.msg != "" && msg != tt.msg {
				t.Errorf("error %q, want %q", msg, tt.msg)
			}
			if n := len(pub.Published()); n != 0 {
				t.Errorf("published %d, want nothing", n)
			}
		})
	}
}

func TestTypingRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, pub := typingSend(t, f, limit.Rules{limit.ActionTyping: {Rate: 1, Per: 3 * time.Second, Burst: 1}})
	if resp := testkit.Invoke(t, h, typingEvent(t, `{"typing":true}`)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first signal: %d %s", resp.StatusCode, resp.Body)
	}
	resp := testkit.Invoke(t, h, typingEvent(t, `{"typing":true}`))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "3" {
		t.Fatalf("second signal: %d Retry-After %q %s; want 429, 3", resp.StatusCode, resp.Headers["Retry-After"], resp.Body)
	}
	if !strings.Contains(resp.Body, "typing signals") {
		t.Errorf("429 body %s does not say what was limited", resp.Body)
	}
	if n := len(pub.Published()); n != 1 {
		t.Errorf("published %d, want 1", n)
	}
}

func TestTypingWithoutTyper(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := testkit.Invoke(t, f.send, typingEvent(t, `{"typing":true}`))
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("status %d, want 501", resp.StatusCode)
	}
}
