package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

func decodeMessage(t *testing.T, resp events.APIGatewayV2HTTPResponse) chat.Message {
	t.Helper()
	var m chat.Message
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("message body %q: %v", resp.Body, err)
	}
	return m
}

func TestSendCreatesThenRepeatsIdempotently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := testkit.Event(t, "send-post-message.json")

	resp := testkit.Invoke(t, f.send, ev)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", resp.StatusCode, resp.Body)
	}
	if cc := resp.Headers["Cache-Control"]; cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	m := decodeMessage(t, resp)
	if m.ID != 1 || m.Room != testRoom || m.User != "alice" || m.Text != "Hello **world**" ||
		m.ClientID != "8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a6b" || m.SentAt.IsZero() {
		t.Errorf("message = %+v", m)
	}
	if !strings.Contains(m.HTML, "<strong>world</strong>") {
		t.Errorf("html = %q, want rendered markdown", m.HTML)
	}
	pubs := f.pub.Published()
	if len(pubs) != 1 || pubs[0].Channel != "room-"+testRoom || pubs[0].ID != "1" || pubs[0].PrevID != "0" {
		t.Fatalf("published = %+v, want one publish id 1 prev-id 0 on room-%s", pubs, testRoom)
	}
	if !strings.Contains(string(pubs[0].Frame), "event: message\n") {
		t.Errorf("frame = %q", pubs[0].Frame)
	}

	again := testkit.Invoke(t, f.send, ev)
	if again.StatusCode != http.StatusOK {
		t.Fatalf("repeat status = %d, want 200; body %s", again.StatusCode, again.Body)
	}
	if m2 := decodeMessage(t, again); m2.ID != m.ID || m2.Text != m.Text {
		t.Errorf("repeat answered %+v, want the first message %+v", m2, m)
	}
	if n := len(f.pub.Published()); n != 1 {
		t.Errorf("publishes after repeat = %d, want 1", n)
	}
	if last := f.store.LastID(t, testRoom); last != 1 {
		t.Errorf("room last id = %d, want 1", last)
	}
}

func TestSendAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		event    func(t *testing.T) events.APIGatewayV2HTTPRequest
		wantText string
		wantUser string
	}{
		{
			name: "legacy message field",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.Event(t, "send-post-message-legacy.json")
			},
			wantText: "hi from the old client",
			wantUser: "alice",
		},
		{
			name: "base64 body",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.Event(t, "send-post-message-base64.json")
			},
			wantText: "café ☕",
			wantUser: "alice",
		},
		{
			name: "exactly 500 characters",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"`+strings.Repeat("é", 500)+`"}`)
			},
			wantText: strings.Repeat("é", 500),
			wantUser: "alice",
		},
		{
			name: "unknown fields ignored",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"hi","extra":{"a":[1,2]},"room":"elsewhere"}`)
			},
			wantText: "hi",
			wantUser: "alice",
		},
		{
			name: "text wins over message",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"message":"old","text":"new"}`)
			},
			wantText: "new",
			wantUser: "alice",
		},
		{
			name: "surrogate pair escape (emoji)",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"hi \ud83d\ude00"}`)
			},
			wantText: "hi 😀",
			wantUser: "alice",
		},
		{
			name: "escaped backslash before u is text",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"path \\ud800"}`)
			},
			wantText: `path \ud800`,
			wantUser: "alice",
		},
		{
			name: "Hangul syllable with a filler, braille dots",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"\u3164\ud55c \u2801"}`)
			},
			wantText: "\u3164한 \u2801",
			wantUser: "alice",
		},
		{
			name: "any configured key",
			event: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return testkit.WithHeader(testkit.WithBody(testkit.Event(t, "send-post-message.json"), `{"text":"hi"}`), "x-api-key", "other-key")
			},
			wantText: "hi",
			wantUser: "alice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp := testkit.Invoke(t, f.send, tt.event(t))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", resp.StatusCode, resp.Body)
			}
			m := decodeMessage(t, resp)
			if m.Text != tt.wantText || m.User != tt.wantUser {
				t.Errorf("stored text %q user %q, want %q %q", m.Text, m.User, tt.wantText, tt.wantUser)
			}
			if n := len(f.pub.Published()); n != 1 {
				t.Errorf("publishes = %d, want 1", n)
			}
		})
	}
}

// TestSendRejected checks every refusal of a send: the status, the message,
// and that nothing was stored or published.
func TestSendRejected(t *testing.T) {
	t.Parallel()
	post := func(body string) func(t *testing.T) events.APIGatewayV2HTTPRequest {
		return func(t *testing.T) events.APIGatewayV2HTTPRequest {
			return testkit.WithBody(testkit.Event(t, "send-post-message.json"), body)
		}
	}
	header := func(name, value string) func(t *testing.T) events.APIGatewayV2HTTPRequest {
		return func(t *testing.T) events.APIGatewayV2HTTPRequest {
			return testkit.WithHeader(testkit.Event(t, "send-post-message.json"), name, value)
		}
	}
	tests := []struct {
		name       string
		event      func(t *testing.T) events.APIGatewayV2HTTPRequest
		wantStatus int
		wantError  string
	}{
		{"missing API key", header("x-api-key", ""), 401, "API key is missing"},
		{"wrong API key", header("x-api-key", "nope"), 403, "Invalid API key"},
		{"admin key is not an API key", header("x-api-key", testAdminKey), 403, "Invalid API key"},
		{"two keys joined by a comma", header("x-api-key", testAPIKey+","+testAPIKey), 403, "Invalid API key"},
		{"missing user", header("x-user", ""), 401, "x-user is missing: sign in first"},
		{"blank user", header("x-user", "   "), 401, "x-user is missing: sign in first"},
		{"user too long", header("x-user", strings.Repeat("u", 65)), 400, "x-user must be 1 to 64 characters of text"},
		{"user with a comma (the adapter splits header values on commas)", header("x-user", "Smith, John"), 400, "x-user must be 1 to 64 characters of text"},
		{"user with a zero-width space", header("x-user", "ana\u200b"), 400, "x-user must be 1 to 64 characters of text"},
		{"user of Hangul fillers only", header("x-user", "\u3164\u3164"), 400, "x-user must be 1 to 64 characters of text"},
		{"no content type", header("content-type", ""), 415, "Content-Type must be application/json"},
		{"form content type (cross-site forms need no preflight)", header("content-type", "text/plain"), 415, "Content-Type must be application/json"},
		{"null body", post(`null`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"zero-width text only", post(`{"text":"\u200b\ufeff"}`), 400, "message text is empty"},
		{"unknown room", func(t *testing.T) events.APIGatewayV2HTTPRequest {
			return testkit.WithPath(testkit.Event(t, "send-post-message.json"), "POST", "/room/nowhere/messages")
		}, 404, "room not found"},
		{"text of 501 characters", post(`{"text":"` + strings.Repeat("a", 501) + `"}`), 413, "message text is longer than 500 characters"},
		{"body over 16 KiB", post(`{"text":"hi","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`), 413, "request body is too large"},
		{"malformed JSON", post(`{"text":`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"trailing garbage", post(`{"text":"hi"} {"text":"again"}`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"text of wrong type", post(`{"text":5}`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"clientId of wrong type", post(`{"text":"hi","clientId":7}`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"array body", post(`["hi"]`), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"empty body", post(``), 400, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`},
		{"invalid UTF-8", func(t *testing.T) events.APIGatewayV2HTTPRequest {
			return withRawBody(testkit.Event(t, "send-post-message.json"), []byte("{\"text\":\"bad \xff\xfe byte\"}"))
		}, 400, "request body is not valid UTF-8"},
		{"no text", post(`{"clientId":"8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a6b"}`), 400, "message text is empty"},
		{"blank text", post(`{"text":" \n\t "}`), 400, "message text is empty"},
		{"control character", post(`{"text":"bell \u0007"}`), 400, "message text holds characters that are not allowed"},
		{"clientId not a UUID", post(`{"text":"hi","clientId":"not-a-uuid"}`), 400, "clientId must be a UUID"},
		// encoding/json turns an unpaired surrogate escape into U+FFFD: a
		// character the author never typed.
		{"lone high surrogate", post(`{"text":"a\ud800b"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		{"lone low surrogate", post(`{"text":"\udc00"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		{"high surrogate at the end", post(`{"text":"x\uD800"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		{"surrogates in the wrong order", post(`{"text":"\ude00\ud83d"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		{"high surrogate then a letter", post(`{"text":"\ud800\u0041"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		{"lone surrogate in clientId", post(`{"text":"hi","clientId":"\udfff"}`), 400, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`},
		// Characters that render as nothing: fillers, blank braille,
		// combining marks without a base, variation selectors, tags.
		{"Hangul filler only", post(`{"text":"\u3164\u3164"}`), 400, "message text is empty"},
		{"Hangul choseong and jungseong fillers", post(`{"text":"\u115f\u1160"}`), 400, "message text is empty"},
		{"halfwidth Hangul filler", post(`{"text":"\uffa0"}`), 400, "message text is empty"},
		{"blank braille pattern", post(`{"text":"\u2800 \u2800"}`), 400, "message text is empty"},
		{"combining marks only", post(`{"text":"\u0301\u034f"}`), 400, "message text is empty"},
		{"variation selector only", post(`{"text":"\ufe0f"}`), 400, "message text is empty"},
		{"tag characters only", post(`{"text":"\udb40\udc41\udb40\udc7f"}`), 400, "message text is empty"},
		{"Khmer inherent vowels", post(`{"text":"\u17b4\u17b5"}`), 400, "message text is empty"},
		{"ideographic and other spaces", post(`{"text":"\u3000\u2003\u00a0\u2028"}`), 400, "message text is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp := testkit.Invoke(t, f.send, tt.event(t))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := testkit.ErrorOf(t, resp); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			for _, room := range []string{testRoom, "devops-exchange-ldn", "nowhere"} {
				if last := f.store.LastID(t, room); last != 0 {
					t.Errorf("room %s has last id %d after a refused send, want 0", room, last)
				}
			}
			if pubs := f.pub.Published(); len(pubs) != 0 {
				t.Errorf("published %d frames after a refused send", len(pubs))
			}
		})
	}
}

func TestStoreFailureIsA500WithoutDetails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.store.Err = errSecretFailure
	resp := testkit.Invoke(t, f.send, testkit.Event(t, "send-post-message.json"))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if got := testkit.ErrorOf(t, resp); got != "internal error" {
		t.Errorf("error = %q, want internal error", got)
	}
	if strings.Contains(resp.Body, "secret") {
		t.Errorf("body leaks the cause: %s", resp.Body)
	}
	if !strings.Contains(f.logs.String(), "table secret-table is on fire") {
		t.Errorf("the cause is not logged: %s", f.logs.String())
	}
}

// TestContendedSendIsA503WithRetryAfter: a send that kept losing the race
// for the room's next id is a 503 with Retry-After, the signal on which
// the page resends with the same clientId.
func TestContendedSendIsA503WithRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.store.Err = fmt.Errorf("write event: %w", chat.ErrConflict)
	resp := testkit.Invoke(t, f.send, testkit.Event(t, "send-post-message.json"))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	if got := resp.Headers["Retry-After"]; got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	// Counted for the IdRaceAlarm: an EMF record in the log line.
	if l := f.logs.String(); !strings.Contains(l, `"_aws":`) || !strings.Contains(l, `"IdRaceConflicts":1`) {
		t.Errorf("no IdRaceConflicts metric logged: %s", l)
	}
}

func TestSendSucceedsWhenPublishFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pub.Err = errSecretFailure
	resp := testkit.Invoke(t, f.send, testkit.Event(t, "send-post-message.json"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201 (the event is stored; the next link recovers it)", resp.StatusCode)
	}
	if last := f.store.LastID(t, testRoom); last != 1 {
		t.Errorf("last id = %d, want 1", last)
	}
	// Counted for the PublishFailureAlarm: an EMF record in the log line.
	if l := f.logs.String(); !strings.Contains(l, `"_aws":`) || !strings.Contains(l, `"PublishFailures":1`) {
		t.Errorf("no PublishFailures metric logged: %s", l)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		wantStatus int
		wantError  string
	}{
		{"author deletes", "/room/devops-bcn/messages/1", nil, 204, ""},
		{"another user", "/room/devops-bcn/messages/1", map[string]string{"x-user": "bob"}, 403, "only the author may delete a message"},
		{"unknown id", "/room/devops-bcn/messages/99", nil, 404, "message not found"},
		{"id of another room", "/room/devops-exchange-ldn/messages/1", nil, 404, "message not found"},
		{"unknown room", "/room/nowhere/messages/1", nil, 404, "room not found"},
		{"id not a number", "/room/devops-bcn/messages/abc", nil, 400, "message id must be a positive integer"},
		{"id zero", "/room/devops-bcn/messages/0", nil, 400, "message id must be a positive integer"},
		// Ids have one spelling: plain digits. strconv alone would take
		// "+1" and "01" for message 1.
		{"id with plus sign", "/room/devops-bcn/messages/+1", nil, 400, "message id must be a positive integer"},
		{"id with leading zero", "/room/devops-bcn/messages/01", nil, 400, "message id must be a positive integer"},
		{"id of 20 digits", "/room/devops-bcn/messages/00000000000000000001", nil, 400, "message id must be a positive integer"},
		{"id beyond int64", "/room/devops-bcn/messages/9223372036854775808", nil, 400, "message id must be a positive integer"},
		{"missing key", "/room/devops-bcn/messages/1", map[string]string{"x-api-key": ""}, 401, "API key is missing"},
		{"wrong key", "/room/devops-bcn/messages/1", map[string]string{"x-api-key": "nope"}, 403, "Invalid API key"},
		{"missing user", "/room/devops-bcn/messages/1", map[string]string{"x-user": ""}, 401, "x-user is missing: sign in first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			chattest.Seed(t, f.svc, testRoom, "alice", "first")
			ev := testkit.WithPath(testkit.Event(t, "send-delete-message.json"), "DELETE", tt.path)
			for k, v := range tt.headers {
				ev = testkit.WithHeader(ev, k, v)
			}
			resp := testkit.Invoke(t, f.send, ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			pubs := f.pub.Published()
			if tt.wantStatus == http.StatusNoContent {
				if resp.Body != "" {
					t.Errorf("body = %q, want none", resp.Body)
				}
				if len(pubs) != 2 || !strings.Contains(string(pubs[1].Frame), "event: delete\n") || pubs[1].ID != "2" || pubs[1].PrevID != "1" {
					t.Errorf("publishes = %+v, want the message then a delete with id 2", pubs)
				}
				return
			}
			if got := testkit.ErrorOf(t, resp); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if len(pubs) != 1 || f.store.LastID(t, testRoom) != 1 {
				t.Errorf("a refused delete changed the room: %d publishes, last id %d", len(pubs), f.store.LastID(t, testRoom))
			}
		})
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		event      string
		path       string // overrides the event's path when set
		key        string
		noAdminKey bool
		wantStatus int
		wantError  string
		// wantRefresh lists the rooms that get a refresh publish.
		wantRefresh []string
		// wantLeft is how many of alice's and bob's messages stay in testRoom.
		wantLeft int
	}{
		{name: "clear room", event: "send-admin-clear-room.json", key: testAdminKey, wantStatus: 204, wantRefresh: []string{testRoom}, wantLeft: 0},
		{name: "clear one user in a room", event: "send-admin-clear-room-user.json", key: testAdminKey, wantStatus: 204, wantRefresh: []string{testRoom}, wantLeft: 1},
		{name: "clear a user everywhere", event: "send-admin-clear-user.json", key: testAdminKey, wantStatus: 204, wantRefresh: []string{"devops-bcn", "devops-exchange-ldn"}, wantLeft: 1},
		{name: "unknown room", event: "send-admin-clear-room.json", path: "/admin/room/nowhere", key: testAdminKey, wantStatus: 404, wantError: "room not found", wantLeft: 2},
		{name: "missing key", event: "send-admin-clear-room.json", wantStatus: 401, wantError: "API key is missing", wantLeft: 2},
		{name: "API key is not the admin key", event: "send-admin-clear-room.json", key: testAPIKey, wantStatus: 403, wantError: "Invalid API key", wantLeft: 2},
		{name: "wrong key", event: "send-admin-clear-user.json", key: "nope", wantStatus: 403, wantError: "Invalid API key", wantLeft: 2},
		{name: "admin disabled", event: "send-admin-clear-room.json", key: testAdminKey, noAdminKey: true, wantStatus: 403, wantError: "Invalid API key", wantLeft: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			h := f.send
			if tt.noAdminKey {
				h = NewSendHandler(f.svc, Auth{APIKeys: []string{testAPIKey}})
			}
			chattest.Seed(t, f.svc, testRoom, "alice", "from alice")
			chattest.Seed(t, f.svc, testRoom, "bob", "from bob")
			chattest.Seed(t, f.svc, "devops-exchange-ldn", "alice", "alice in london")
			before := len(f.pub.Published())

			ev := testkit.WithHeader(testkit.Event(t, tt.event), "x-api-key", tt.key)
			if tt.path != "" {
				ev = testkit.WithPath(ev, "DELETE", tt.path)
			}
			resp := testkit.Invoke(t, h, ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantError != "" {
				if got := testkit.ErrorOf(t, resp); got != tt.wantError {
					t.Errorf("error = %q, want %q", got, tt.wantError)
				}
			}
			var refreshed []string
			for _, p := range f.pub.Published()[before:] {
				if !strings.Contains(string(p.Frame), "event: refresh\n") {
					t.Errorf("unexpected publish %q", p.Frame)
				}
				refreshed = append(refreshed, strings.TrimPrefix(p.Channel, "room-"))
			}
			if strings.Join(refreshed, ",") != strings.Join(tt.wantRefresh, ",") {
				t.Errorf("refreshed rooms = %v, want %v", refreshed, tt.wantRefresh)
			}
			page, err := f.svc.History(t.Context(), testRoom, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Messages) != tt.wantLeft {
				t.Errorf("messages left in %s = %d, want %d", testRoom, len(page.Messages), tt.wantLeft)
			}
		})
	}
}

func TestSendRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
	}{
		{"GET on the post route", "GET", "/room/devops-bcn/messages", 405, "POST"},
		{"PUT on a message", "PUT", "/room/devops-bcn/messages/1", 405, "DELETE, PATCH"},
		{"unknown path", "POST", "/rooms", 404, ""},
		{"stream route is not the send function's", "GET", "/room/devops-bcn/events", 404, ""},
		{"trailing slash", "POST", "/room/devops-bcn/messages/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp := testkit.Invoke(t, f.send, testkit.WithPath(testkit.Event(t, "send-post-message.json"), tt.method, tt.path))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			want := map[int]string{404: "Not Found", 405: "Method Not Allowed"}[tt.wantStatus]
			if got := testkit.ErrorOf(t, resp); got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
			if allow := resp.Headers["Allow"]; allow != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", allow, tt.wantAllow)
			}
			if f.store.LastID(t, testRoom) != 0 {
				t.Error("a misrouted request stored something")
			}
		})
	}
}

func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	testkit.Invoke(t, f.send, testkit.Event(t, "send-post-message.json"))
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == "request" {
			if line != nil {
				t.Fatalf("two request lines for one request: %s", f.logs.String())
			}
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no request line in %s", f.logs.String())
	}
	if line["method"] != "POST" || line["route"] != "POST /room/{room}/messages" || line["status"] != float64(201) {
		t.Errorf("request line = %v", line)
	}
	if _, ok := line["durationMs"].(float64); !ok {
		t.Errorf("request line has no durationMs: %v", line)
	}
	if strings.Contains(f.logs.String(), "Hello **world**") {
		t.Errorf("message text leaked into logs: %s", f.logs.String())
	}
}

var errSecretFailure = errors.New("table secret-table is on fire")
