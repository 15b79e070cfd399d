package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// frame is one Server-Sent Event as a browser's EventSource sees it.
type frame struct {
	ID    string
	Event string
	Data  string
}

func (f frame) String() string { return fmt.Sprintf("{id:%s event:%s data:%s}", f.ID, f.Event, f.Data) }

// listener is an SSE connection held open through Pushpin, its frames
// parsed into a channel by a goroutine.
type listener struct {
	name   string
	frames chan frame
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	seen []frame // every frame taken by next, for failure messages
	err  error   // why the stream ended
}

// listenOption changes the stream request.
type listenOption func(*http.Request)

// withLastEventID sets the Last-Event-ID header, as a reconnecting
// EventSource does.
func withLastEventID(id int64) listenOption {
	return func(r *http.Request) { r.Header.Set("Last-Event-ID", strconv.FormatInt(id, 10)) }
}

// withQueryLastEventID sets ?lastEventId=, for clients that cannot set
// headers.
func withQueryLastEventID(id int64) listenOption {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set("lastEventId", strconv.FormatInt(id, 10))
		r.URL.RawQuery = q.Encode()
	}
}

// listen opens the room's event stream through Pushpin and fails the test
// unless it is held (200, text/event-stream). The stream is closed when the
// test ends.
func (e *testEnv) listen(t *testing.T, name, room string, opts ...listenOption) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := e.stack.URL() + "/room/" + room + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("listener %s: GET %s: %v", name, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("listener %s: GET %s: got %d %q %q, want 200 text/event-stream", name, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	l := &listener{name: name, frames: make(chan frame, 1024), cancel: cancel, done: make(chan struct{})}
	go l.read(resp.Body)
	t.Cleanup(l.close)
	return l
}

// read parses the stream with testkit's SSE reader, the inverse of
// internal/sse's encoder; blocks with only a retry field (a listener's
// first answer) dispatch nothing in a browser and are left out.
func (l *listener) read(body io.ReadCloser) {
	defer close(l.done)
	defer close(l.frames)
	defer body.Close()
	r := testkit.NewSSEReader(body)
	for {
		f, err := r.Next()
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			return
		}
		if !f.IsEvent() && f.ID == "" && f.Type == "" {
			continue
		}
		l.frames <- frame{ID: f.ID, Event: f.Type, Data: string(f.Data)}
	}
}

// close ends the connection and waits for the reader.
func (l *listener) close() {
	l.cancel()
	<-l.done
}

// history describes what the listener received, for failure messages.
func (l *listener) history() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := make([]string, len(l.seen))
	for i, f := range l.seen {
		parts[i] = f.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// next returns the next frame, failing the test if none comes: d is how
// long it usually takes, and the wait lasts testkit.Patience(t, d), so a
// loaded machine is not a failure.
func (l *listener) next(t *testing.T, d time.Duration) frame {
	t.Helper()
	timer := time.NewTimer(testkit.Patience(t, d))
	defer timer.Stop()
	select {
	case f, ok := <-l.frames:
		if !ok {
			l.mu.Lock()
			err := l.err
			l.mu.Unlock()
			t.Fatalf("listener %s: stream ended (%v); received so far: %s", l.name, err, l.history())
		}
		l.mu.Lock()
		l.seen = append(l.seen, f)
		l.mu.Unlock()
		return f
	case <-timer.C:
		t.Fatalf("listener %s: no frame (usually within %s); received so far: %s", l.name, d, l.history())
	}
	return frame{}
}

// quiet fails the test if a frame arrives within d. Used only where the
// next expected frame is asserted afterwards, which proves the order.
func (l *listener) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok := <-l.frames:
		if ok {
			t.Fatalf("listener %s: got %s, want no frame within %s", l.name, f, d)
		}
		t.Fatalf("listener %s: stream ended, want it held", l.name)
	case <-timer.C:
	}
}

// liveWait bounds the wait for a live frame. A publish that Pushpin must
// recover through the next link arrives 5–10 s late; everything else in
// well under a second.
const liveWait = 20 * time.Second

// expectMessage reads the next frame and fails unless it is want's message
// event: id line, event "message", and exactly the message JSON.
func (l *listener) expectMessage(t *testing.T, want message) {
	t.Helper()
	f := l.next(t, liveWait)
	if f.ID != strconv.FormatInt(want.ID, 10) || f.Event != "message" {
		t.Fatalf("listener %s: got frame %s, want id %d event message; received so far: %s", l.name, f, want.ID, l.history())
	}
	got := decodeMessage(t, []byte(f.Data))
	if got != want {
		t.Fatalf("listener %s: message frame %d:\n got  %+v\n want %+v", l.name, want.ID, got, want)
	}
}

// expectEvent reads the next frame and fails unless it has the id, the
// event type and data equal (as JSON) to wantData.
func (l *listener) expectEvent(t *testing.T, id int64, event string, wantData map[string]any) {
	t.Helper()
	f := l.next(t, liveWait)
	if f.ID != strconv.FormatInt(id, 10) || f.Event != event {
		t.Fatalf("listener %s: got frame %s, want id %d event %s; received so far: %s", l.name, f, id, event, l.history())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(f.Data), &got); err != nil {
		t.Fatalf("listener %s: frame %s: data is not JSON: %v", l.name, f, err)
	}
	// Compare through JSON so numbers are float64 on both sides.
	wb, _ := json.Marshal(wantData)
	var want map[string]any
	_ = json.Unmarshal(wb, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listener %s: %s %d data:\n got  %v\n want %v", l.name, event, id, got, want)
	}
}

// messageKeys are exactly the fields of a message's JSON.
var messageKeys = []string{"clientId", "html", "id", "room", "sentAt", "text", "user"}

// decodeMessage decodes message JSON and fails unless it has exactly the
// contract's fields and a UTC RFC 3339 sentAt.
func decodeMessage(t *testing.T, b []byte) message {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("message %q is not a JSON object: %v", b, err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, messageKeys) {
		t.Fatalf("message %s: fields %v, want %v", b, keys, messageKeys)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	at, err := time.Parse(time.RFC3339Nano, m.SentAt)
	if err != nil || !strings.HasSuffix(m.SentAt, "Z") || at.IsZero() {
		t.Fatalf("message %s: sentAt %q is not an RFC 3339 UTC time (%v)", b, m.SentAt, err)
	}
	return m
}
