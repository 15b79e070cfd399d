package stream

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
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
		{name: "empty Last-Event-ID is absent", headers: map[string]string{"last-event-id": " "}, query: "lastEventId=2", wantIDs: "3", wantTypes: "message", wantPrev: 3},
		{name: "empty lastEventId is absent", query: "lastEventId=", wantPrev: 3},
		{name: "resume point expired", headers: map[string]string{"last-event-id": "1"}, expire: 2, wantIDs: "3", wantTypes: "stream-reset", wantPrev: 3},
		{name: "resume point ahead of the room", headers: map[string]string{"last-event-id": "9"}, wantIDs: "3", wantTypes: "stream-reset", wantPrev: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			chattest.Seed(t, f.svc, testRoom, "alice", "one", "two", "three")
			if tt.expire > 0 {
				f.store.Expire(testRoom, tt.expire)
			}
			ev := testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t))
			for k, v := range tt.headers {
				ev = testkit.WithHeader(ev, k, v)
			}
			ev = testkit.WithQuery(ev, tt.query)
			resp := testkit.Invoke(t, f.stream, ev)
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
	chattest.Seed(t, f.svc, testRoom, "alice", "one", "two")
	if err := f.svc.Delete(t.Context(), testRoom, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	// Pushpin following the next link: Grip-Last last-id=1 and ?lastEventId=1.
	ev := testkit.WithHeader(testkit.Event(t, "stream-events-next-link.json"), "grip-sig", validSig(t))
	resp := testkit.Invoke(t, f.stream, ev)
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
	again := testkit.Invoke(t, f.stream, ev)
	if again.Body != resp.Body || again.Headers["Grip-Channel"] != resp.Headers["Grip-Channel"] {
		t.Errorf("second answer differs:\n%q\n%q", resp.Body, again.Body)
	}
	// Counted as next-link calls (EMF), not as new holds, for the dashboard.
	if l := f.logs.String(); !strings.Contains(l, `"NextLinkCalls":1`) || strings.Contains(l, `"StreamHolds":1`) {
		t.Errorf("log lines do not count next-link calls alone: %s", l)
	}
}

func TestStreamTombstoneSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one", "two")
	if err := f.svc.Delete(t.Context(), testRoom, 2, "alice"); err != nil {
		t.Fatal(err)
	}
	ev := testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "last-event-id", "0")
	resp := testkit.Invoke(t, f.stream, ev)
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
			ev := testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", tt.sig(t))
			if tt.path != "" {
				ev = testkit.WithPath(ev, tt.method, tt.path)
			}
			resp := testkit.Invoke(t, f.stream, ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := testkit.ErrorOf(t, resp); got != tt.wantError {
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
// body without an explicit status fails the whole invocation. A next link
// with nothing new is the empty answer (a listener's own request carries
// the retry field).
func TestStreamEmptyHoldThroughAdapter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ev events.APIGatewayV2HTTPRequest = testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)),
		"grip-last", "room-devops-bcn; last-id=0")
	resp := testkit.Invoke(t, f.stream, ev)
	if resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Fatalf("status %d body %q, want 200 and an empty body", resp.StatusCode, resp.Body)
	}
	if got := resp.Headers["Grip-Channel"]; got != "room-devops-bcn; prev-id=0" {
		t.Errorf("Grip-Channel = %q, want prev-id=0 for an empty room", got)
	}
}

// TestStreamBadResumePoint: a resume point that is not an event id as this
// API writes it is refused with 400, never taken for "from 0" or "from now".
func TestStreamBadResumePoint(t *testing.T) {
	t.Parallel()
	const msg = "Last-Event-ID, lastEventId and Grip-Last must be an event id: digits only, at most 19"
	bad := []string{"abc", "-1", "+1", "01", "1e3", "0x10", "1.0", "1,2", "18446744073709551616", "12345678901234567890", "9223372036854775808"}
	for _, v := range bad {
		for _, where := range []string{"Last-Event-ID", "lastEventId", "Grip-Last"} {
			if where == "Grip-Last" && v == "1,2" {
				continue // Grip-Last values are comma-separated channels
			}
			t.Run(where+" "+v, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				chattest.Seed(t, f.svc, testRoom, "alice", "one")
				ev := testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t))
				switch where {
				case "Last-Event-ID":
					ev = testkit.WithHeader(ev, "last-event-id", v)
				case "lastEventId":
					ev = testkit.WithQuery(ev, "lastEventId="+url.QueryEscape(v))
				case "Grip-Last":
					ev = testkit.WithHeader(ev, "grip-last", "room-devops-bcn; last-id="+v)
				}
				resp := testkit.Invoke(t, f.stream, ev)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400; body %s", resp.StatusCode, resp.Body)
				}
				if got := testkit.ErrorOf(t, resp); got != msg {
					t.Errorf("error = %q, want %q", got, msg)
				}
				if v, ok := resp.Headers["Grip-Hold"]; ok {
					t.Errorf("refused resume point got Grip-Hold %q", v)
				}
			})
		}
	}
}

// TestStreamRetryField: a listener's own request starts with an SSE retry
// field, jittered per answer; a next link's answer (appended to a stream
// already under way) has none.
func TestStreamRetryField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one")
	draws := []float64{0, 0.5, 0.999}
	i := 0
	h := New(f.svc, f.verifier, Options{LinkTimeout: 120 * time.Second,
		Rand: func() float64 { d := draws[i%len(draws)]; i++; return d }})
	ev := testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "last-event-id", "0")
	for _, want := range []string{"retry: 1000\n\n", "retry: 2500\n\n", "retry: 3997\n\n"} {
		resp := testkit.Invoke(t, h, ev)
		if !strings.HasPrefix(resp.Body, want) {
			t.Errorf("body %q, want it to start with %q", resp.Body, want)
		}
		if ids, _ := frameIDs(resp.Body); strings.Join(ids, ",") != "1" {
			t.Errorf("frame ids %v, want 1", ids)
		}
	}
	next := testkit.Invoke(t, h, testkit.WithHeader(ev, "grip-last", "room-devops-bcn; last-id=0"))
	if strings.Contains(next.Body, "retry:") {
		t.Errorf("next-link answer carries a retry field: %q", next.Body)
	}
}

// TestStreamCatchUp: a listener far behind is paged in large next-link
// answers whose link timeout is the short catch-up one while events remain,
// and the usual one once it is current; too far behind, it is reset.
func TestStreamCatchUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	texts := make([]string, chat.ResumeLimit+chat.CatchUpLimit+10)
	for i := range texts {
		texts[i] = "m" + strconv.Itoa(i+1)
	}
	chattest.Seed(t, f.svc, testRoom, "alice", texts...)
	total := int64(len(texts))
	sig := validSig(t)
	get := func(t *testing.T, hdr, val string) (ids []string, resp events.APIGatewayV2HTTPResponse) {
		t.Helper()
		ev := testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", sig), hdr, val)
		resp = testkit.Invoke(t, f.stream, ev)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
		}
		ids, _ = frameIDs(resp.Body)
		return ids, resp
	}
	check := func(t *testing.T, resp events.APIGatewayV2HTTPResponse, prev int64, timeout int) {
		t.Helper()
		p := strconv.FormatInt(prev, 10)
		want := "</room/devops-bcn/events?lastEventId=" + p + ">; rel=next; timeout=" + strconv.Itoa(timeout)
		if got := resp.Headers["Grip-Link"]; got != want {
			t.Errorf("Grip-Link = %q, want %q", got, want)
		}
		if got := resp.Headers["Grip-Channel"]; got != "room-devops-bcn; prev-id="+p {
			t.Errorf("Grip-Channel = %q, want prev-id=%s", got, p)
		}
	}

	// The reconnect itself: at most ResumeLimit events, within Pushpin's
	// first-answer size, then a one-second link.
	ids, resp := get(t, "last-event-id", "0")
	if len(ids) != chat.ResumeLimit || len(resp.Body) > chat.ResumeMaxBytes {
		t.Fatalf("first answer: %d events, %d bytes; want %d events within %d bytes", len(ids), len(resp.Body), chat.ResumeLimit, chat.ResumeMaxBytes)
	}
	check(t, resp, chat.ResumeLimit, 1)
	// The proxy's next link: CatchUpLimit events, still more to come.
	ids, resp = get(t, "grip-last", "room-devops-bcn; last-id="+strconv.Itoa(chat.ResumeLimit))
	if len(ids) != chat.CatchUpLimit || ids[0] != strconv.Itoa(chat.ResumeLimit+1) {
		t.Fatalf("second answer: %d events from %v, want %d from %d", len(ids), ids[:1], chat.CatchUpLimit, chat.ResumeLimit+1)
	}
	check(t, resp, chat.ResumeLimit+chat.CatchUpLimit, 1)
	// The last page: current, the usual link timeout.
	ids, resp = get(t, "grip-last", "room-devops-bcn; last-id="+strconv.Itoa(chat.ResumeLimit+chat.CatchUpLimit))
	if len(ids) != 10 || ids[9] != strconv.FormatInt(total, 10) {
		t.Fatalf("last answer ids %v, want the last 10", ids)
	}
	check(t, resp, total, 120)
}

func TestStreamTooFarBehindIsReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	texts := make([]string, chat.MaxCatchUp+2)
	for i := range texts {
		texts[i] = "m"
	}
	chattest.Seed(t, f.svc, testRoom, "alice", texts...)
	last := strconv.Itoa(len(texts))
	for _, after := range []string{"1", "2"} {
		ev := testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "last-event-id", after)
		resp := testkit.Invoke(t, f.stream, ev)
		ids, types := frameIDs(resp.Body)
		if after == "1" {
			if strings.Join(types, ",") != "stream-reset" || strings.Join(ids, ",") != last {
				t.Errorf("after %s: frames %v %v, want one stream-reset with id %s", after, ids, types, last)
			}
			continue
		}
		// Exactly MaxCatchUp behind: still replayed.
		if len(types) == 0 || types[0] != "message" {
			t.Errorf("after %s: types %v, want messages", after, types[:min(3, len(types))])
		}
	}
}

// TestStreamSuspect: after a sign of trouble (a next link that replays
// events), the link times out after SuspectTimeout for SuspectWindow, remembered in
// the link itself; otherwise after LinkTimeout.
func TestStreamSuspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one", "two", "three")
	now := time.Unix(1_800_000_000, 0)
	h := New(f.svc, f.verifier, Options{LinkTimeout: 120 * time.Second, Now: func() time.Time { return now }})
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name     string
		gripLast string // last-id of Grip-Last; "" for a listener's own request
		query    string
		wantLink string
	}{
		{"connect, nothing missed", "", "", "?lastEventId=3>; rel=next; timeout=120"},
		{"reconnect that replays (no sign: reconnects come in storms)", "", "lastEventId=1", "?lastEventId=3>; rel=next; timeout=120"},
		{"idle next link", "3", "lastEventId=3", "?lastEventId=3>; rel=next; timeout=120"},
		{"next link that replays (a gap)", "1", "lastEventId=1", "?lastEventId=3&suspect=" + ts(0) + ">; rel=next; timeout=3"},
		{"listener advanced since its last next link (activity is no sign)", "3", "lastEventId=1", "?lastEventId=3>; rel=next; timeout=120"},
		{"within the window", "3", "lastEventId=3&suspect=" + ts(-29*time.Second), "?lastEventId=3&suspect=" + ts(-29*time.Second) + ">; rel=next; timeout=3"},
		{"window over", "3", "lastEventId=3&suspect=" + ts(-30*time.Second), "?lastEventId=3>; rel=next; timeout=120"},
		{"from the future", "3", "lastEventId=3&suspect=" + ts(time.Hour), "?lastEventId=3>; rel=next; timeout=120"},
		{"malformed", "3", "lastEventId=3&suspect=-5", "?lastEventId=3>; rel=next; timeout=120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testkit.WithQuery(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), tt.query)
			if tt.gripLast != "" {
				ev = testkit.WithHeader(ev, "grip-last", "room-devops-bcn; last-id="+tt.gripLast)
			}
			resp := testkit.Invoke(t, h, ev)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
			}
			if got, want := resp.Headers["Grip-Link"], "</room/devops-bcn/events"+tt.wantLink; got != want {
				t.Errorf("Grip-Link = %q, want %q", got, want)
			}
		})
	}
}
