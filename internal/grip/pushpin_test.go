package grip

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// These tests run a real Pushpin (tools/proc) in front of an
// httptest origin built from this package: the origin checks Grip-Sig with a
// Verifier and answers with a Hold, the test publishes with a Publisher.

const testSigKey = "grip-test-sig-key"

// originRequest is one request the origin served.
type originRequest struct {
	at       time.Time
	path     string
	gripLast []string
}

// origin is a minimal stream function: an event log per channel, the hold
// answered to a first request and, repeated, to every next-link request.
type origin struct {
	t        *testing.T
	verifier *Verifier
	// bareNextLink makes next-link answers carry no GRIP headers.
	bareNextLink bool
	// also are channels the hold subscribes to besides ch, without prev-id.
	also []string
	// linkTimeout is the next link's timeout (default 120 s).
	linkTimeout time.Duration

	mu       sync.Mutex
	events   map[string][]string // channel → frames; frame i has id i+1
	requests []originRequest
	seen     chan struct{} // receives after every request
}

func newOrigin(t *testing.T) *origin {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{Key: []byte(testSigKey), Issuer: "pushpin"})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return &origin{t: t, verifier: v, events: map[string][]string{}, seen: make(chan struct{}, 100)}
}

func frame(id int) string { return fmt.Sprintf("id: %d\ndata: event %d\n\n", id, id) }

// add appends the next event of channel to the log (stores before it is
// published, like the send function) and returns its id and frame.
func (o *origin) add(channel string) (int, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := len(o.events[channel]) + 1
	f := frame(id)
	o.events[channel] = append(o.events[channel], f)
	return id, f
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := o.verifier.Verify(r.Header.Get("Grip-Sig")); err != nil {
		o.t.Errorf("origin: %s %s: %v", r.Method, r.URL, err)
		http.Error(w, "bad Grip-Sig", http.StatusNotImplemented)
		return
	}
	channel := r.URL.Query().Get("ch")
	last, isNext := ParseLast(r.Header.Values("Grip-Last"), channel)
	o.mu.Lock()
	o.requests = append(o.requests, originRequest{at: time.Now(), path: r.URL.RequestURI(), gripLast: r.Header.Values("Grip-Last")})
	log := o.events[channel]
	o.mu.Unlock()
	defer func() { o.seen <- struct{}{} }()

	after := 0
	if isNext {
		n, err := strconv.Atoi(last)
		if err != nil {
			http.Error(w, "bad Grip-Last", http.StatusBadRequest)
			return
		}
		after = n
	}
	var body strings.Builder
	prev := after
	for id := after + 1; id <= len(log); id++ {
		body.WriteString(log[id-1])
		prev = id
	}
	if !isNext || !o.bareNextLink {
		Hold{
			Channel:     channel,
			PrevID:      strconv.Itoa(prev),
			Also:        o.also,
			NextLink:    "/events?ch=" + channel,
			LinkTimeout: cmp.Or(o.linkTimeout, 120*time.Second),
		}.Apply(w.Header())
	}
	w.WriteHeader(http.StatusOK)
	if !isNext {
		body.WriteString(": open\n\n")
	}
	_, _ = w.Write([]byte(body.String()))
}

// requestsSince returns the requests served at or after t.
func (o *origin) requestsSince(t time.Time) []originRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []originRequest
	for _, r := range o.requests {
		if !r.at.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// startStack starts the origin and a Pushpin routing to it.
func startStack(t *testing.T, o *origin) (*proc.Pushpin, *Publisher) {
	t.Helper()
	testkit.Require(t, testkit.Pushpin)
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	logs := &testkit.LockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pp, err := proc.StartPushpin(ctx, proc.PushpinConfig{
		Origin: strings.TrimPrefix(srv.URL, "http://"),
		SigKey: testSigKey,
		Log:    logs,
	})
	if err != nil {
		t.Fatalf("StartPushpin: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := pp.Stop(); err != nil {
			t.Errorf("stop pushpin: %v", err)
		}
		if t.Failed() {
			t.Logf("pushpin output:\n%s", logs)
		}
	})
	pub, err := NewPublisher(PublishConfig{ControlURI: pp.PublishURL()}, withTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	return pp, pub
}

// sseClient reads a stream's frames; comment-only frames are dropped.
type sseClient struct {
	frames chan string
	closed chan struct{}
}

func connect(t *testing.T, url string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	// Right after start, Pushpin's proxy may not reach its handler yet and
	// answers a hold with 500 "Accept service unavailable": retry briefly.
	var resp *http.Response
	for try := 0; ; try++ {
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		if resp.StatusCode != http.StatusInternalServerError || try == 50 {
			break
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		if !strings.Contains(string(b), "Accept service unavailable") {
			t.Fatalf("GET %s: %s: %q", url, resp.Status, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		t.Fatalf("GET %s: %s, Content-Type %q: %q", url, resp.Status, resp.Header.Get("Content-Type"), b)
	}
	c := &sseClient{frames: make(chan string, 100), closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		defer resp.Body.Close()
		// Frames come back as internal/sse encodes them, so a published
		// frame compares equal to what the client reads.
		r := testkit.NewSSEReader(resp.Body)
		for {
			f, err := r.Next()
			if err != nil {
				return
			}
			c.frames <- f.String()
		}
	}()
	return c
}

// next returns the next frame, failing when none comes: d is how long it
// usually takes, and the wait lasts testkit.Patience(t, d), so a loaded
// machine is not a failure.
func (c *sseClient) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.closed:
		t.Fatal("stream closed, want a frame")
	case <-time.After(testkit.Patience(t, d)):
		t.Fatalf("no frame (usually within %s)", d)
	}
	return ""
}

// waitRequest waits until the origin served a request matching ok: d is
// how long that usually takes, the wait testkit.Patience(t, d).
func (o *origin) waitRequest(t *testing.T, since time.Time, d time.Duration, ok func(originRequest) bool) originRequest {
	t.Helper()
	deadline := time.After(testkit.Patience(t, d))
	for {
		for _, r := range o.requestsSince(since) {
			if ok(r) {
				return r
			}
		}
		select {
		case <-o.seen:
		case <-deadline:
			t.Fatalf("origin saw no matching request (usually within %s); saw %+v", d, o.requestsSince(since))
		}
	}
}

func TestPushpinReliableStream(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	pp, pub := startStack(t, o)
	// Pushpin remembers a channel's last id for 60 s: never reuse a name.
	channel := fmt.Sprintf("room-grip-%d", time.Now().UnixNano())
	ctx := context.Background()

	start := time.Now()
	c := connect(t, pp.URL()+"/events?ch="+channel)

	// Pushpin fetches the next link about a second after subscribing, with
	// the hold's prev-id as Grip-Last.
	o.waitRequest(t, start, 10*time.Second, func(r originRequest) bool {
		return len(r.gripLast) == 1 && r.gripLast[0] == channel+"; last-id=0"
	})

	// A fresh channel held with prev-id=0 takes id 1 published with prev-id 0.
	id, f := o.add(channel)
	if err := pub.Publish(ctx, channel, strconv.Itoa(id), strconv.Itoa(id-1), []byte(f)); err != nil {
		t.Fatalf("publish %d: %v", id, err)
	}
	if got := c.next(t, 10*time.Second); got != frame(1) {
		t.Fatalf("frame = %q, want %q", got, frame(1))
	}

	// Event 2 is stored but its publish is lost; 3 is published with
	// prev-id 2. Pushpin sees the gap and fetches the next link with
	// Grip-Last last-id=1; the origin answers 2 and 3 and the client gets
	// each exactly once, in order. Pushpin's sequencer first waits 5–10 s
	// for the missing publish, hence the generous timeouts.
	o.add(channel)
	id, f = o.add(channel)
	gapAt := time.Now()
	if err := pub.Publish(ctx, channel, strconv.Itoa(id), strconv.Itoa(id-1), []byte(f)); err != nil {
		t.Fatalf("publish %d: %v", id, err)
	}
	r := o.waitRequest(t, gapAt, 25*time.Second, func(r originRequest) bool {
		_, ok := ParseLast(r.gripLast, channel)
		return ok
	})
	if last, _ := ParseLast(r.gripLast, channel); last != "1" {
		t.Fatalf("gap next-link Grip-Last = %q, want last-id=1", r.gripLast)
	}
	t.Logf("next link fetched %s after the gap: %s Grip-Last %q", time.Since(gapAt).Round(100*time.Millisecond), r.path, r.gripLast)
	for want := 2; want <= 3; want++ {
		if got := c.next(t, 10*time.Second); got != frame(want) {
			t.Fatalf("frame = %q, want %q", got, frame(want))
		}
	}

	// The stream is still live and in step: 4 after 3 goes straight through.
	id, f = o.add(channel)
	if err := pub.Publish(ctx, channel, strconv.Itoa(id), strconv.Itoa(id-1), []byte(f)); err != nil {
		t.Fatalf("publish %d: %v", id, err)
	}
	if got := c.next(t, 10*time.Second); got != frame(4) {
		t.Fatalf("frame = %q, want %q", got, frame(4))
	}
	select {
	case extra := <-c.frames:
		t.Fatalf("unexpected extra frame %q", extra)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestPushpinNextLinkAnswerWithoutHold shows why every next-link answer must
// repeat the hold: an answer without GRIP headers ends the client's stream.
func TestPushpinNextLinkAnswerWithoutHold(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.bareNextLink = true
	pp, _ := startStack(t, o)
	channel := fmt.Sprintf("room-bare-%d", time.Now().UnixNano())

	c := connect(t, pp.URL()+"/events?ch="+channel)
	select {
	case <-c.closed:
	case f := <-c.frames:
		t.Fatalf("unexpected frame %q", f)
	case <-time.After(testkit.Patience(t, 15*time.Second)):
		t.Fatal("stream still open long after a bare next-link answer (usually closed within 15 s); want it closed")
	}
	if rs := o.requestsSince(time.Time{}); len(rs) != 2 {
		t.Fatalf("origin requests = %+v, want the hold and one next link", rs)
	}
}
