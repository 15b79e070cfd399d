package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/apigw"
	"github.com/fanout-chat/serverless-chat/internal/localstack"
)

var templateFlag = flag.String("template", "", "SAM template for the stack tests (default: the checkout's template.yaml)")

// syncBuffer collects the stack's logs for failure messages.
type syncBuffer struct {
	mux logMux
	buf bytes.Buffer
}

func newLogBuffer() *syncBuffer {
	b := &syncBuffer{}
	b.mux.out = &b.buf
	return b
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mux.mu.Lock()
	defer b.mux.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mux.mu.Lock()
	defer b.mux.mu.Unlock()
	return b.buf.String()
}

// testConfig is a stack on free ports, in memory, from the checkout.
func testConfig(t *testing.T, log io.Writer) stackConfig {
	t.Helper()
	if testing.Short() {
		t.Skip("starts DynamoDB Local, Pushpin and the functions; not run with -short")
	}
	if err := localstack.Available(); err != nil {
		t.Fatalf("tools missing: %v", err)
	}
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *templateFlag
	if tmpl == "" {
		tmpl = filepath.Join(root, "template.yaml")
	}
	ports := make([]int, 5)
	for i := range ports {
		if ports[i], err = localstack.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	return stackConfig{
		Root:        root,
		Template:    tmpl,
		PushpinPort: ports[0], PublishPort: ports[1], APIPort: ports[2], EdgePort: ports[3], DynamoPort: ports[4],
		APIKeys:  "test-key,other-key",
		AdminKey: "test-admin",
		SigKey:   "test-sig-key",
		Log:      log,
	}
}

// TestStackMessageReachesListener starts the whole stack in-process, sends
// a message through Pushpin as a script would (its own x-api-key and x-user)
// and as a signed-in browser would (the edge's cookie), sees both arrive on
// an SSE stream held by Pushpin, then stops the stack and checks that no
// process or port is left.
func TestStackMessageReachesListener(t *testing.T) {
	logs := newLogBuffer()
	cfg := testConfig(t, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	s, err := startStack(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.stop()
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	base := s.URL()
	room := defaultRoom(t, s)

	// The first page: the sign-in prompt of the edge stand-in, then the
	// room page of the web function.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, body := do(t, browser, "GET", base+"/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Your name") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, browser, "POST", base+"/_edge/signin", strings.NewReader("name=Ann"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/room/"+room {
		t.Fatalf("sign in ended at %s with %d: %.200q", resp.Request.URL, resp.StatusCode, body)
	}
	t.Logf("start to first served room page: %s", time.Since(start).Round(time.Millisecond))

	frames := listen(ctx, t, base+"/room/"+room+"/events")

	// A script: its own identity headers, no cookie.
	resp, body = do(t, http.DefaultClient, "POST", base+"/room/"+room+"/messages",
		strings.NewReader(`{"text":"from a script","clientId":"0b5e1d3c-7f0a-4a4e-9c61-8f1a2b3c4d5e"}`),
		http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"other-key"}, "X-User": {"bot"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("script send: %d %s", resp.StatusCode, body)
	}
	// A browser: only the cookie; the edge adds the headers.
	resp, body = do(t, browser, "POST", base+"/room/"+room+"/messages",
		strings.NewReader(`{"text":"from a browser","clientId":"1c6f2e4d-8a1b-4b5f-8d72-9a2b3c4d5e6f"}`),
		http.Header{"Content-Type": {"application/json"}, "X-User": {"mallory"}})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"user":"Ann"`) {
		t.Fatalf("browser send: %d %s", resp.StatusCode, body)
	}

	want := map[string]string{"from a script": "bot", "from a browser": "Ann"}
	deadline := time.After(15 * time.Second)
	for len(want) > 0 {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("stream ended; still waiting for %v", want)
			}
			var m struct{ Text, User string }
			if f.event != "message" || json.Unmarshal([]byte(f.data), &m) != nil {
				continue
			}
			if want[m.Text] == m.User {
				delete(want, m.Text)
			}
		case <-deadline:
			t.Fatalf("no live frame for %v", want)
		}
	}

	pids := s.pids()
	if len(pids) < 2 {
		t.Fatalf("pids = %v, want DynamoDB Local and Pushpin", pids)
	}
	cancel()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after stop (kill 0: %v)", pid, err)
		}
	}
	for _, p := range cfg.ports() {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
		if err != nil {
			t.Errorf("port %d (%s) still taken after stop: %v", p.port, p.name, err)
			continue
		}
		_ = ln.Close()
	}
}

// TestStackPortTaken: a taken port is named and nothing starts.
func TestStackPortTaken(t *testing.T) {
	cfg := testConfig(t, io.Discard)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.EdgePort)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := startStack(context.Background(), cfg)
	if err == nil {
		_ = s.stop()
		t.Fatal("started with a taken port")
	}
	if !errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), strconv.Itoa(cfg.EdgePort)) || !strings.Contains(err.Error(), "edge") {
		t.Fatalf("err = %v, want it to name port %d (edge stand-in)", err, cfg.EdgePort)
	}
}

// TestBootstrapMatchesInProcess runs the stack with every function's real
// bootstrap under the Lambda RIE, builds the in-process emulator beside it
// on the same DynamoDB Local and environment, and expects the same answers
// from both, modulo ids and times.
func TestBootstrapMatchesInProcess(t *testing.T) {
	logs := newLogBuffer()
	cfg := testConfig(t, logs)
	cfg.Bootstrap = true
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := startStack(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	defer func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	inproc := &stack{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	inproc.cfg.Bootstrap = false
	fns, err := inproc.functions(ctx, s.tmpl, s.envs, &logMux{out: logs})
	if err != nil {
		t.Fatal(err)
	}
	api, err := apigw.NewServer(s.tmpl, fns)
	if err != nil {
		t.Fatal(err)
	}
	local := httptest.NewServer(api)
	defer local.Close()
	boot := "http://127.0.0.1:" + strconv.Itoa(cfg.APIPort)
	room := defaultRoom(t, s)

	key := http.Header{"X-Api-Key": {"test-key"}, "X-User": {"cmp"}, "Content-Type": {"application/json"}}
	requests := []struct {
		name, method, path, body string
		header                   http.Header
	}{
		{"rooms", "GET", "/rooms", "", nil},
		{"send", "POST", "/room/" + room + "/messages", `{"text":"*same* <b>answer</b>"}`, key},
		{"history", "GET", "/room/" + room + "/messages?limit=5", "", nil},
		{"history unknown room", "GET", "/room/nope/messages", "", nil},
		{"send without key", "POST", "/room/" + room + "/messages", `{"text":"x"}`, http.Header{"X-User": {"cmp"}}},
		{"send wrong key", "POST", "/room/" + room + "/messages", `{"text":"x"}`, http.Header{"X-Api-Key": {"nope"}, "X-User": {"cmp"}}},
		{"send malformed", "POST", "/room/" + room + "/messages", `{"text":`, key},
		{"stream without proxy", "GET", "/room/" + room + "/events", "", nil},
		{"stream hold", "GET", "/room/" + room + "/events", "", http.Header{"Grip-Sig": {gripSig(t, cfg.SigKey)}}},
		{"stream forged sig", "GET", "/room/" + room + "/events", "", http.Header{"Grip-Sig": {"e30.e30.x"}}},
		{"delete unknown", "DELETE", "/room/" + room + "/messages/999999", "", key},
		{"web root", "GET", "/", "", nil},
		{"room page", "GET", "/room/" + room, "", http.Header{"X-User": {"cmp"}, "Accept-Encoding": {"identity"}}},
		{"no route", "GET", "/no/such/route/here", "", nil},
	}
	noRedirect := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			a := capture(t, noRedirect, rq.method, boot+rq.path, rq.body, rq.header)
			b := capture(t, noRedirect, rq.method, local.URL+rq.path, rq.body, rq.header)
			t.Logf("%s %s → %d", rq.method, rq.path, a.status)
			if a.status != b.status {
				t.Errorf("status: bootstrap %d, in-process %d", a.status, b.status)
			}
			if !reflect.DeepEqual(a.header, b.header) {
				t.Errorf("headers:\n bootstrap  %v\n in-process %v", a.header, b.header)
			}
			if a.body != b.body {
				i := 0
				for i < len(a.body) && i < len(b.body) && a.body[i] == b.body[i] {
					i++
				}
				from := max(0, i-80)
				t.Errorf("bodies differ at byte %d:\n bootstrap  …%.240q\n in-process …%.240q", i, a.body[from:], b.body[from:])
			}
		})
	}
}

// gripSig signs a Grip-Sig as Pushpin does with its sig_key.
func gripSig(t *testing.T, key string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "pushpin",
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// answer is a response with what legitimately differs between two runs
// (dates, request ids, message ids and times) masked.
type answer struct {
	status int
	header map[string]string
	body   string
}

var (
	idField   = regexp.MustCompile(`"(id|before|lastEventId)":\d+`)
	timeField = regexp.MustCompile(`"sentAt":"[^"]*"`)
)

func capture(t *testing.T, c *http.Client, method, u, body string, h http.Header) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp, b := do(t, c, method, u, rd, h)
	a := answer{status: resp.StatusCode, header: map[string]string{}}
	for k, v := range resp.Header {
		switch k {
		case "Date", "Apigw-Requestid", "Content-Length":
			continue
		}
		a.header[k] = strings.Join(v, ",")
	}
	b = idField.ReplaceAllString(b, `"$1":N`)
	a.body = timeField.ReplaceAllString(b, `"sentAt":T`)
	return a
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, u, err)
	}
	return resp, string(b)
}

// defaultRoom is the first room of the functions' ROOMS.
func defaultRoom(t *testing.T, s *stack) string {
	t.Helper()
	ids := make([]string, 0, len(s.envs))
	for id := range s.envs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if rooms := s.envs[id]["ROOMS"]; rooms != "" {
			slug, _, _ := strings.Cut(strings.Split(rooms, ",")[0], ":")
			return strings.TrimSpace(slug)
		}
	}
	return "devops-exchange-ldn"
}

type frame struct{ id, event, data string }

// listen holds an SSE stream open through Pushpin and sends its frames.
func listen(ctx context.Context, t *testing.T, u string) <-chan frame {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %q %q", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
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
					out <- f
				}
				f = frame{}
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data += line[6:]
			}
		}
	}()
	return out
}
