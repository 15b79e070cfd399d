package stack

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

var templateFlag = flag.String("template", "", "SAM template for the stack tests (default: the checkout's template.yaml)")

// testConfig is a stack on free ports (0: Start picks them), in memory,
// from the checkout, without the developer's env-vars file.
func testConfig(t *testing.T, log io.Writer) Config {
	t.Helper()
	testkit.Require(t, testkit.Pushpin, testkit.DynamoDBLocal, testkit.RIE)
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *templateFlag
	if tmpl == "" {
		tmpl = filepath.Join(root, "template.yaml")
	}
	return Config{
		Root:     root,
		Template: tmpl,
		APIKeys:  "test-key,other-key",
		AdminKey: "test-admin",
		SigKey:   "test-sig-key",
		Log:      log,
	}
}

// TestStackMessageReachesListener starts the whole stack in-process on free
// ports with its own ROOMS, sends a message through Pushpin as a script
// would (its own x-api-key and x-user) and as a signed-in browser would (the
// edge's cookie), sees both arrive on an SSE stream held by Pushpin, does it
// again after Pushpin was stopped and restarted, then stops the stack and
// checks that no process or port is left.
func TestStackMessageReachesListener(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	cfg := testConfig(t, logs)
	fresh := fmt.Sprintf("fresh-%d", time.Now().UnixNano())
	cfg.Env = map[string]string{config.EnvRooms: fresh + ":Fresh Room,second:Second"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.Stop()
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	base := s.URL()
	room := defaultRoom(t, s)
	if room != fresh {
		t.Fatalf("default room %q, want %q from Config.Env", room, fresh)
	}
	for _, id := range []string{"HistoryFunction", "SendFunction", "StreamFunction", "WebFunction"} {
		if got := s.FunctionEnv(id)[config.EnvRooms]; got != cfg.Env[config.EnvRooms] {
			t.Errorf("%s has ROOMS %q, want Config.Env's", id, got)
		}
	}
	if c := s.Config(); c.PushpinPort == 0 || c.PublishPort == 0 || c.APIPort == 0 || c.EdgePort == 0 || c.DynamoPort == 0 {
		t.Fatalf("ports not chosen: %+v", c)
	}

	// The first page: the sign-in prompt of the edge stand-in, then the
	// room page of the web function.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, body := do(t, browser, "GET", base+"/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Your name") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, browser, "POST", base+"/_edge/signin", strings.NewReader("name=Ann"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/room/"+room || !strings.Contains(body, "Fresh Room") {
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

	// Pushpin stopped, then restarted on the same ports, as reconnect tests do.
	if err := s.Pushpin().Stop(); err != nil {
		t.Fatalf("stop Pushpin: %v", err)
	}
	if err := s.Pushpin().Restart(ctx); err != nil {
		t.Fatalf("restart Pushpin: %v", err)
	}
	frames = listen(ctx, t, base+"/room/"+room+"/events")
	resp, body = do(t, http.DefaultClient, "POST", s.APIURL()+"/room/"+room+"/messages",
		strings.NewReader(`{"text":"after the restart"}`),
		http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {s.APIKey()}, "X-User": {"bot"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send to the API directly: %d %s", resp.StatusCode, body)
	}
	waitFrame(t, frames, "after the restart")

	pids := s.pids()
	if len(pids) < 2 {
		t.Fatalf("pids = %v, want DynamoDB Local and Pushpin", pids)
	}
	cancel()
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after stop (kill 0: %v)", pid, err)
		}
	}
	used := s.Config()
	for _, p := range used.ports() {
		ln, err := net.Listen("tcp", hostPort(*p.port))
		if err != nil {
			t.Errorf("port %d (%s) still taken after stop: %v", *p.port, p.name, err)
			continue
		}
		_ = ln.Close()
	}
}

// TestStackPortTaken: a taken port is named and nothing starts.
func TestStackPortTaken(t *testing.T) {
	cfg := testConfig(t, io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg.EdgePort = ln.Addr().(*net.TCPAddr).Port
	s, err := Start(context.Background(), cfg)
	if err == nil {
		_ = s.Stop()
		t.Fatal("started with a taken port")
	}
	if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), strconv.Itoa(cfg.EdgePort)) || !strings.Contains(err.Error(), "edge") {
		t.Fatalf("err = %v, want it to name port %d (edge stand-in)", err, cfg.EdgePort)
	}
}

// TestBootstrapMatchesInProcess runs the stack with every function's real
// bootstrap under the Lambda RIE, builds the in-process emulator beside it
// on the same DynamoDB Local and environment, and expects the same answers
// from both, modulo ids and times.
func TestBootstrapMatchesInProcess(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	cfg := testConfig(t, logs)
	cfg.Bootstrap = true
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	defer func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	}()
	inproc := &Stack{cfg: s.Config(), logs: NewLogMux(logs), log: slog.New(slog.DiscardHandler), tmpl: s.tmpl, envs: s.envs}
	fns, err := inproc.functions(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apigw.NewServer(s.tmpl, fns)
	if err != nil {
		t.Fatal(err)
	}
	local := httptest.NewServer(api)
	defer local.Close()
	boot := s.APIURL()
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
			// The SSE retry field is jittered per answer on purpose (reconnects
			// spread out); compare everything else.
			a.body, b.body = sseRetry.ReplaceAllString(a.body, "retry: N"), sseRetry.ReplaceAllString(b.body, "retry: N")
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

// sseRetry matches an SSE retry field.
var sseRetry = regexp.MustCompile(`(?m)^retry: [0-9]+$`)

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
func defaultRoom(t *testing.T, s *Stack) string {
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

// waitFrame waits for a message frame with that text.
func waitFrame(t *testing.T, frames <-chan frame, text string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("stream ended; still waiting for %q", text)
			}
			var m struct{ Text string }
			if f.event == "message" && json.Unmarshal([]byte(f.data), &m) == nil && m.Text == text {
				return
			}
		case <-deadline:
			t.Fatalf("no live frame for %q", text)
		}
	}
}

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
