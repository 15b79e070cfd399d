package integration

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// message is the message JSON of the HTTP contract, decoded independently
// of the chat package so the wire format itself is checked.
type message struct {
	ID       int64  `json:"id"`
	Room     string `json:"room"`
	User     string `json:"user"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
	SentAt   string `json:"sentAt"`
	ClientID string `json:"clientId"`
}

// page is the answer of GET /room/{room}/messages.
type page struct {
	Room struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	} `json:"room"`
	Messages    []message `json:"messages"`
	More        bool      `json:"more"`
	Before      *int64    `json:"before"`
	LastEventID *int64    `json:"lastEventId"`
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s", a.status, strings.TrimSpace(string(a.body)))
}

// newHTTPClient returns the client of every non-stream request; it follows
// no redirect, so a status is always the function's own.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends one request and reads the answer; it returns an error instead of
// failing the test, so goroutines can use it.
func (e *testEnv) do(method, u string, body []byte, h http.Header) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return answer{}, fmt.Errorf("new request %s %s: %w", method, u, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read body: %w", method, u, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call is do for the test's own goroutine.
func (e *testEnv) call(t *testing.T, method, u string, body []byte, h http.Header) answer {
	t.Helper()
	a, err := e.do(method, u, body, h)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// scriptHeaders are what a script sends through the edge, which passes them
// through untouched: its own x-api-key and x-user.
func scriptHeaders(user string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {apiKey}, "X-User": {user}}
}

// browserHeaders are what a signed-in browser sends: only the edge
// stand-in's identity cookie; the edge sets x-user and x-api-key from it,
// overwriting anything the browser sent.
func browserHeaders(user string) http.Header {
	return http.Header{
		"Content-Type": {"application/json"},
		"Cookie":       {"chat_user=" + url.QueryEscape(user)},
	}
}

// newClientID returns a random UUID v4, as the browser makes one per send.
// crypto/rand.Read never fails (Go 1.24+).
func newClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// sendBody is the JSON body of a send.
func sendBody(text, clientID string) []byte {
	b, _ := json.Marshal(map[string]string{"text": text, "clientId": clientID})
	return b
}

// post sends a message through Pushpin with a script's headers.
func (e *testEnv) post(room, user, text, clientID string) (answer, error) {
	return e.do(http.MethodPost, e.stack.URL()+"/room/"+room+"/messages", sendBody(text, clientID), scriptHeaders(user))
}

// send posts a message through Pushpin and fails unless it is stored as a
// new message (201) with the given room, user, text and clientId and, when
// wantID > 0, that id.
func (e *testEnv) send(t *testing.T, room, user, text string, wantID int64) message {
	t.Helper()
	cid := newClientID()
	a := e.call(t, http.MethodPost, e.stack.URL()+"/room/"+room+"/messages", sendBody(text, cid), scriptHeaders(user))
	if a.status != http.StatusCreated {
		t.Fatalf("send %q to %s: got %s, want 201", text, room, a)
	}
	m := decodeMessage(t, a.body)
	if m.Room != room || m.User != user || m.Text != text || m.ClientID != cid || (wantID > 0 && m.ID != wantID) {
		t.Fatalf("send %q to %s as %s: got %+v, want room %s user %s text %q clientId %s id %d", text, room, user, m, room, user, text, cid, wantID)
	}
	return m
}

// history reads a page of the room's history through Pushpin and fails
// unless it is 200 JSON.
func (e *testEnv) history(t *testing.T, room, query string) page {
	t.Helper()
	u := e.stack.URL() + "/room/" + room + "/messages"
	if query != "" {
		u += "?" + query
	}
	a := e.call(t, http.MethodGet, u, nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: got %s, want 200", u, a)
	}
	var p page
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, a.body)
	}
	return p
}

// lastEventID is the room's last event id from its newest history page.
func (e *testEnv) lastEventID(t *testing.T, room string) int64 {
	t.Helper()
	p := e.history(t, room, "")
	if p.LastEventID == nil {
		t.Fatalf("history of %s: no lastEventId on the newest page", room)
	}
	return *p.LastEventID
}

// ids returns the ids of messages in order.
func ids(ms []message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// idRange returns from, from+step, … up to and including to.
func idRange(from, to int64) []int64 {
	var out []int64
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	for i := from; i >= to; i-- {
		out = append(out, i)
	}
	return out
}

// errorJSON returns the "error" of an error answer, failing the test unless
// the body is exactly {"error": "..."} served as JSON.
func errorJSON(t *testing.T, a answer) string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer %s: Content-Type %q, want application/json", a, ct)
	}
	var body map[string]string
	if err := json.Unmarshal(a.body, &body); err != nil || len(body) != 1 {
		t.Fatalf("error answer %s: want exactly {\"error\": \"...\"} (%v)", a, err)
	}
	msg, ok := body["error"]
	if !ok {
		t.Fatalf("error answer %s: no error field", a)
	}
	return msg
}

// expectError fails unless a has the status and the JSON error message.
func expectError(t *testing.T, what string, a answer, status int, msg string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: got %s, want %d {\"error\":%q}", what, a, status, msg)
	}
	if got := errorJSON(t, a); got != msg {
		t.Fatalf("%s: error %q, want %q", what, got, msg)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// expectPublished fails unless the send function published exactly the
// events want on the room's channel, each once, in that order. Publishes
// happen before a send answers, so they are all recorded by now.
func (e *testEnv) expectPublished(t *testing.T, room string, want []int64) {
	t.Helper()
	got := e.publish.Published("room-" + room)
	wantS := make([]string, len(want))
	for i, id := range want {
		wantS[i] = itoa(id)
	}
	if !slices.Equal(got, wantS) {
		t.Fatalf("publishes on room-%s: got ids %v, want %v", room, got, wantS)
	}
}
