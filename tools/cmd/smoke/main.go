// Command smoke checks a deployed chat end to end, as the edge uses it: the
// room page, the room list, a live stream held by the GRIP proxy, a send, the
// history holding it, the message arriving on the stream, and a delete of
// the smoke message. Every failure names what is wrong and where to look.
//
//	smoke -url https://chat.example.com -key <an API key>
//
// URL is what the edge forwards /room/* to Fanout with (the edge's host); the
// API's own execute-api host serves everything but the stream, which then
// fails with "no Grip-Sig": the GRIP proxy is bypassed. `make smoke URL=…
// KEY=…` runs it; the tests run it against the local stack.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	var cfg Config
	fs.StringVar(&cfg.URL, "url", os.Getenv("URL"), "base URL of the chat as the edge serves it (env URL)")
	fs.StringVar(&cfg.StreamURL, "stream-url", "", "base URL of the GRIP proxy for the stream, when not -url")
	fs.StringVar(&cfg.Key, "key", os.Getenv("KEY"), "an API key the send function accepts (env KEY)")
	fs.StringVar(&cfg.User, "user", "smoke-test", "x-user of the smoke message")
	fs.StringVar(&cfg.Room, "room", "", "room to use (default: the default room of GET /rooms)")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "how long the message may take to arrive on the stream (keep it under LinkTimeout)")
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "pause between the stream's hold and the send")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if cfg.URL == "" || cfg.Key == "" {
		fmt.Fprintln(os.Stderr, "usage: make smoke URL=https://<edge host> KEY=<api key>")
		os.Exit(2)
	}
	if err := Run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
}

// Config is one smoke run.
type Config struct {
	// URL is the chat's base URL; StreamURL, when set, is used for the
	// stream instead.
	URL, StreamURL string
	// Key is sent as x-api-key, User as x-user, as the edge sends them.
	Key, User string
	// Room is the room to use; "" is the API's default room.
	Room string
	// Timeout bounds every request and the wait for the message on the
	// stream. Keep it under the stack's LinkTimeout: a message whose publish
	// failed still arrives, through the next link, after up to LinkTimeout.
	Timeout time.Duration
	// Settle is the pause between the hold and the send. A proxy calls the
	// next link about a second after a new subscription; a send before that
	// call would be delivered by it even with publishing broken. 0 means 3 s.
	Settle time.Duration
	// Client makes the requests; nil is a client without a timeout of its
	// own (the stream stays open).
	Client *http.Client
}

// Error hints, by the function that answers: where an operator looks.
const (
	hintWeb     = "the web function failed: alarm WebFunctionErrorsAlarm, logs /aws/lambda/<stack>-WebFunction-…"
	hintHistory = "the history function failed: alarm HistoryFunctionErrorsAlarm or Api5xxAlarm, logs /aws/lambda/<stack>-HistoryFunction-…"
	hintSend    = "the send function failed: alarm SendFunctionErrorsAlarm or Api5xxAlarm, logs /aws/lambda/<stack>-SendFunction-… (a failed cold start logs \"cold start failed\": an SSM parameter missing or unreadable)"
	hintStream  = "the stream function failed: alarm StreamFunctionErrorsAlarm or Api5xxAlarm, logs /aws/lambda/<stack>-StreamFunction-…"
)

// Run runs every check in order, printing one line per check to out, and
// returns the first failure.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.User == "" {
		cfg.User = "smoke-test"
	}
	if cfg.Settle == 0 {
		cfg.Settle = 3 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	base := strings.TrimRight(cfg.URL, "/")
	streamBase := base
	if cfg.StreamURL != "" {
		streamBase = strings.TrimRight(cfg.StreamURL, "/")
	}
	if _, err := url.ParseRequestURI(base + "/"); err != nil {
		return fmt.Errorf("URL %q is not a URL: %w", cfg.URL, err)
	}
	s := &smoke{cfg: cfg, out: out}

	// The room list, and the room.
	var rooms struct {
		Rooms []struct {
			Slug string `json:"slug"`
		} `json:"rooms"`
		Default string `json:"default"`
	}
	if err := s.json(ctx, "rooms", http.MethodGet, base+"/rooms", nil, http.StatusOK, hintHistory, &rooms); err != nil {
		return err
	}
	room := cfg.Room
	if room == "" {
		room = rooms.Default
	}
	if room == "" {
		return errors.New("rooms: GET /rooms named no default room (check the Rooms parameter)")
	}
	resp, err := s.do(ctx, "page", http.MethodGet, base+"/room/"+room, nil, http.StatusOK, hintWeb)
	if err != nil {
		return err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		return fmt.Errorf("page: GET /room/%s is %s, not an HTML page (is URL the chat, or another site?)", room, ct)
	}
	s.ok("page", "GET /room/"+room+" → 200 HTML")

	// A live stream through the GRIP proxy, opened before the send.
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	frames, err := s.stream(streamCtx, streamBase+"/room/"+room+"/events")
	if err != nil {
		return err
	}
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
		return ctx.Err()
	}

	// The send.
	clientID := newUUID()
	text := "smoke test " + clientID[:8] + " (deleted right away)"
	body := fmt.Sprintf(`{"text":%q,"clientId":%q}`, text, clientID)
	var msg struct {
		ID       int64  `json:"id"`
		ClientID string `json:"clientId"`
	}
	if err := s.json(ctx, "send", http.MethodPost, base+"/room/"+room+"/messages", strings.NewReader(body), http.StatusCreated, hintSend, &msg); err != nil {
		return err
	}
	if msg.ClientID != clientID || msg.ID <= 0 {
		return fmt.Errorf("send: the answer %+v is not the message sent", msg)
	}

	// The history holds it.
	var page struct {
		Messages []struct {
			ID int64 `json:"id"`
		} `json:"messages"`
	}
	if err := s.json(ctx, "history", http.MethodGet, base+"/room/"+room+"/messages", nil, http.StatusOK, hintHistory, &page); err != nil {
		return err
	}
	found := false
	for _, m := range page.Messages {
		found = found || m.ID == msg.ID
	}
	if !found {
		return fmt.Errorf("history: message %d is not in the newest page of %s", msg.ID, room)
	}

	// The message arrives on the stream.
	deadline := time.NewTimer(cfg.Timeout)
	defer deadline.Stop()
wait:
	for {
		select {
		case f, open := <-frames:
			if !open {
				return fmt.Errorf("live: the stream closed before message %d arrived: %w", msg.ID, s.streamErr)
			}
			if f.event == "message" && strings.Contains(f.data, clientID) {
				break wait
			}
		case <-deadline.C:
			return fmt.Errorf("live: message %d was stored but did not arrive on the stream within %v: publishing to the GRIP proxy fails "+
				"(alarm PublishFailureAlarm, logs of the send function: \"publish failed\"; check FastlyServiceId and the token in FastlyApiTokenParameter)", msg.ID, cfg.Timeout)
		}
	}
	s.ok("live", fmt.Sprintf("message %d arrived on the held stream", msg.ID))
	stopStream()

	// Clean up: the author deletes the smoke message.
	if _, err := s.do(ctx, "delete", http.MethodDelete, base+"/room/"+room+"/messages/"+strconv.FormatInt(msg.ID, 10), nil, http.StatusNoContent, hintSend); err != nil {
		return err
	}
	s.ok("delete", fmt.Sprintf("message %d deleted", msg.ID))
	fmt.Fprintf(out, "smoke: all checks passed against %s (room %s)\n", base, room)
	return nil
}

type smoke struct {
	cfg       Config
	out       io.Writer
	streamErr error
}

func (s *smoke) ok(step, what string) { fmt.Fprintf(s.out, "ok    %-8s %s\n", step, what) }

// do makes one request as the edge would (x-api-key, x-user, x-utc-offset)
// and checks the status, turning a wrong one into an error that says why.
func (s *smoke) do(ctx context.Context, step, method, u string, body io.Reader, want int, hint string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	req.Header.Set("X-Api-Key", s.cfg.Key)
	req.Header.Set("X-User", s.cfg.User)
	req.Header.Set("X-Utc-Offset", "0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w (is URL right and reachable?)", step, method, u, err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	if resp.StatusCode != want {
		shown := strings.TrimSpace(truncate(string(b)))
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			shown = "(an HTML page)"
		}
		return nil, fmt.Errorf("%s: %s %s: %d %s: %s", step, method, u, resp.StatusCode, shown, explain(resp.StatusCode, hint))
	}
	return resp, nil
}

// json is do, then decodes the answer into v and reports the step.
func (s *smoke) json(ctx context.Context, step, method, u string, body io.Reader, want int, hint string, v any) error {
	resp, err := s.do(ctx, step, method, u, body, want, hint)
	if err != nil {
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s: %s %s: the answer is not the chat's JSON: %w", step, method, u, err)
	}
	s.ok(step, fmt.Sprintf("%s %s → %d", method, strings.TrimPrefix(u, strings.TrimRight(s.cfg.URL, "/")), want))
	return nil
}

// explain says what a status means for a smoke test.
func explain(status int, hint string) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "the API key was refused: KEY must be one of the keys in the SSM parameter ApiKeysParameter names (the edge's x-api-key)"
	case status == http.StatusNotFound:
		return "no such route or room: is URL the chat's base URL, and the room in the Rooms parameter?"
	case status == http.StatusTooManyRequests:
		return "rate limited: wait a minute and run again"
	case status >= 500:
		return hint
	default:
		return "unexpected answer"
	}
}

type frame struct{ id, event, data string }

// stream opens the room's event stream through the GRIP proxy and returns
// its frames; it fails at once when the answer is not a held stream.
func (s *smoke) stream(ctx context.Context, u string) (<-chan frame, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Api-Key", s.cfg.Key)
	req.Header.Set("X-User", s.cfg.User)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stream: GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		why := explain(resp.StatusCode, hintStream)
		switch resp.StatusCode {
		case http.StatusNotAcceptable:
			why = "no Grip-Sig reached the stream function: the request bypassed the GRIP proxy (use the edge's URL, with Fanout enabled on its service, not the API's own host)"
		case http.StatusNotImplemented:
			why = "the proxy's Grip-Sig was refused: FastlyServiceId must be the id of the Fastly service whose Fanout signs (iss fastly:<id>)"
		}
		if resp.StatusCode == http.StatusOK {
			why = "the answer is not a stream: a GRIP proxy would have held it (is Fanout enabled, and does the edge hand Accept: text/event-stream to it?)"
		}
		return nil, fmt.Errorf("stream: GET %s: %d %s %s: %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(truncate(string(b))), why)
	}
	if resp.Header.Get("Grip-Hold") != "" {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("stream: GET %s answered with the GRIP instructions themselves (Grip-Hold): no GRIP proxy in front", u)
	}
	s.ok("stream", "GET "+req.URL.Path+" held open by the GRIP proxy")
	out := make(chan frame, 16)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var f frame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f.event != "" || f.data != "" {
					select {
					case out <- f:
					case <-ctx.Done():
						return
					}
				}
				f = frame{}
			case strings.HasPrefix(line, "id:"):
				f.id = strings.TrimSpace(line[3:])
			case strings.HasPrefix(line, "event:"):
				f.event = strings.TrimSpace(line[6:])
			case strings.HasPrefix(line, "data:"):
				f.data += strings.TrimPrefix(line[5:], " ")
			}
		}
		s.streamErr = sc.Err()
	}()
	return out, nil
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// newUUID returns a random (version 4) UUID, the clientId form the API
// accepts.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
