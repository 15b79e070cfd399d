package handler

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// frameIDs returns the id lines of an SSE body, in order, and the event
// types.
func frameIDs(body string) (ids []string, types []string) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			ids = append(ids, v)
		}
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, v)
		}
	}
	return ids, types
}

func TestStreamHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		query   string
		// expire removes events up to this id first, as a TTL would.
		expire    int64
		wantIDs   string // comma-joined ids of the body's frames
		wantTypes string
		wantPrev  int64
	}{
		{name: "no resume point", wantPrev: 3},
		{name: "Last-Event-ID", headers: map[string]string{"last-event-id": "1"}, wantIDs: "2,3", wantTypes: "message,message", wantPrev: 3},
		{name: "Last-Event-ID up to date", headers: map[string]string{"last-event-id": "3"}, wantPrev: 3},
		{name: "Last-Event-ID zero replays all", headers: map[string]string{"last-event-id": "0"}, wantIDs: "1,2,3", wantTypes: "message,message,message", wantPrev: 3},
		{name: "lastEventId query", query: "lastEventId=2", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "header wins over query", headers: map[string]string{"last-event-id": "2"}, query: "lastEventId=0", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "Grip-Last wins", headers: map[string]string{"grip-last": "room-devops-bcn; last-id=2", "last-event-id": "0"}, query: "lastEventId=0", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "Grip-Last of several channels, split on commas", headers: map[string]string{"grip-last": "room-other; last-id=0, room-devops-bcn; last-id=1"}, wantIDs: "2,3", wantTypes: "message,message", wantPrev: 3},
		{name: "Grip-Last of another channel is ignored", headers: map[string]string{"grip-last": "room-other; last-id=0"}, query: "lastEventId=2", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "malformed Last-Event-ID is absent", headers: map[string]string{"last-event-id": "abc"}, wantPrev: 3},
		{name: "negative Last-Event-ID is absent", headers: map[string]string{"last-event-id": "-1"}, wantPrev: 3},
		{name: "Last-Event-ID split by the adapter is absent", headers: map[string]string{"last-event-id": "1,2"}, wantPrev: 3},
		{name: "malformed Last-Event-ID falls back to the query", headers: map[string]string{"last-event-id": "x"}, query: "lastEventId=2", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "resume point expired", headers: map[string]string{"last-event-id": "1"}, expire: 2, wantIDs: "3", wantTypes: "stream-reset", wantPrev: 3},
		{name: "resume point ahead of the room", headers: map[string]string{"last-event-id": "9"}, wantIDs: "3", wantTypes: "stream-reset", wantPrev: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.seed(t, testRoom, "alice", "one", "two", "three")
			if tt.expire > 0 {
				f.store.Expire(testRoom, tt.expire)
			}
			ev := withHeader(loadEvent(t, "stream-events.json"), "grip-sig", validSig(t))
			for k, v := range tt.headers {
				ev = withHeader(ev, k, v)
			}
			ev = withQuery(ev, tt.query)
			resp := invoke(t, f.stream, ev)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.StatusCode, resp.Body)
			}
			prev := strconv.FormatInt(tt.wantPrev, 10)
			wantHeaders := map[string]string{
				"Content-Type":    "text/event-stream",
				"Cache-Control":   "no-cache",
				"Grip-Hold":       "stream",
				"Grip-Channel":    "room-devops-bcn; prev-id=" + prev,
				"Grip-Link":       "</room/devops-bcn/events?lastEventId=" + prev + ">; rel=next; timeout=120",
				"Grip-Keep-Alive": `:\n\n; format=cstring; timeout=20; mode=idle`,
			}
			for k, want := range wantHeaders {
				if got := resp.Headers[k]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			ids, types := frameIDs(resp.Body)
			if got := strings.Join(ids, ","); got != tt.wantIDs {
				t.Errorf("frame ids = %q, want %q; body %q", got, tt.wantIDs, resp.Body)
			}
			if got := strings.Join(types, ","); got != tt.wantTypes {
				t.Errorf("frame types = %q, want %q", got, tt.wantTypes)
			}
		})
	}
}

func TestStreamNextLinkCaptured(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seed(t, testRoom, "alice", "one", "two")
	if err := f.svc.Delete(t.Context(), testRoom, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	// Pushpin following the next link: Grip-Last last-id=1 and ?lastEventId=1.
	ev := withHeader(loadEvent(t, "stream-events-next-link.json"), "grip-sig", validSig(t))
	resp := invoke(t, f.stream, ev)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; body %s", resp.StatusCode, resp.Body)
	}
	ids, types := frameIDs(resp.Body)
	if strings.Join(ids, ",") != "2,3" || strings.Join(types, ",") != "message,delete" {
		t.Errorf("frames ids %v types %v, want 2,3 message,delete; body %q", ids, types, resp.Body)
	}
	if got := resp.Headers["Grip-Channel"]; got != "room-devops-bcn; prev-id=3" {
		t.Errorf("Grip-Channel = %q", got)
	}
	// The answer is idempotent: Pushpin may call the same link again.
	again := invoke(t, f.stream, ev)
	if again.Body != resp.Body || again.Headers["Grip-Channel"] != resp.Headers["Grip-Channel"] {
		t.Errorf("second answer differs:\n%q\n%q", resp.Body, again.Body)
	}
}

func TestStreamTombstoneSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seed(t, testRoom, "alice", "one", "two")
	if err := f.svc.Delete(t.Context(), testRoom, 2, "alice"); err != nil {
		t.Fatal(err)
	}
	ev := withHeader(withHeader(loadEvent(t, "stream-events.json"), "grip-sig", validSig(t)), "last-event-id", "0")
	resp := invoke(t, f.stream, ev)
	ids, types := frameIDs(resp.Body)
	if strings.Join(ids, ",") != "1,3" || strings.Join(types, ",") != "message,delete" {
		t.Errorf("ids %v types %v, want 1,3 message,delete", ids, types)
	}
	if got := resp.Headers["Grip-Channel"]; got != "room-devops-bcn; prev-id=3" {
		t.Errorf("Grip-Channel = %q", got)
	}
}

func TestStreamRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name       string
		sig        func(t *testing.T) string
		path       string
		method     string
		wantStatus int
		wantError  string
	}{
		{"no Grip-Sig", func(*testing.T) string { return "" }, "", "", 406, "text/event-stream requires GRIP proxy"},
		{"garbage Grip-Sig", func(*testing.T) string { return "not-a-jwt" }, "", "", 501, "GRIP proxy signature is not valid"},
		{"wrong key", func(t *testing.T) string {
			return sigToken(t, "other-key", jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": now.Add(time.Hour).Unix()})
		}, "", "", 501, "GRIP proxy signature is not valid"},
		{"expired", func(t *testing.T) string {
			return sigToken(t, testSigKey, jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": now.Add(-time.Hour).Unix()})
		}, "", "", 501, "GRIP proxy signature is not valid"},
		{"no exp", func(t *testing.T) string {
			return sigToken(t, testSigKey, jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin"})
		}, "", "", 501, "GRIP proxy signature is not valid"},
		{"wrong issuer", func(t *testing.T) string {
			return sigToken(t, testSigKey, jwt.SigningMethodHS256, jwt.MapClaims{"iss": "mallory", "exp": now.Add(time.Hour).Unix()})
		}, "", "", 501, "GRIP proxy signature is not valid"},
		{"alg none", func(t *testing.T) string {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "pushpin", "exp": now.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, "", "", 501, "GRIP proxy signature is not valid"},
		{"unknown room", validSig, "/room/nowhere/events", "GET", 404, "room not found"},
		{"unknown room without Grip-Sig is still 406", func(*testing.T) string { return "" }, "/room/nowhere/events", "GET", 406, "text/event-stream requires GRIP proxy"},
		{"POST", validSig, "/room/devops-bcn/events", "POST", 405, "Method Not Allowed"},
		{"messages are the history function's", validSig, "/room/devops-bcn/messages", "GET", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ev := withHeader(loadEvent(t, "stream-events.json"), "grip-sig", tt.sig(t))
			if tt.path != "" {
				ev = withPath(ev, tt.method, tt.path)
			}
			resp := invoke(t, f.stream, ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := errorOf(t, resp); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			for _, h := range []string{"Grip-Hold", "Grip-Channel", "Grip-Link"} {
				if v, ok := resp.Headers[h]; ok {
					t.Errorf("refused request got %s: %q", h, v)
				}
			}
		})
	}
}

// TestStreamEmptyHoldThroughAdapter guards the adapter's quirk: an empty
// body without an explicit status fails the whole invocation.
func TestStreamEmptyHoldThroughAdapter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ev events.APIGatewayV2HTTPRequest = withHeader(loadEvent(t, "stream-events.json"), "grip-sig", validSig(t))
	resp := invoke(t, f.stream, ev)
	if resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Fatalf("status %d body %q, want 200 and an empty body", resp.StatusCode, resp.Body)
	}
	if got := resp.Headers["Grip-Channel"]; got != "room-devops-bcn; prev-id=0" {
		t.Errorf("Grip-Channel = %q, want prev-id=0 for an empty room", got)
	}
}
