package proc

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// gripOrigin is an httptest origin that holds every request as an SSE stream on its channel and
// records the Grip-Sig headers it receives.
type gripOrigin struct {
	*httptest.Server
	channel string

	mu   sync.Mutex
	sigs []string
}

func newGripOrigin(t *testing.T) *gripOrigin {
	t.Helper()
	o := &gripOrigin{channel: "test-" + randHex(t)}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.sigs = append(o.sigs, r.Header.Get("Grip-Sig"))
		o.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Grip-Hold", "stream")
		w.Header().Set("Grip-Channel", o.channel)
		fmt.Fprint(w, "event: open\ndata: {}\n\n")
	}))
	t.Cleanup(o.Close)
	return o
}

// hostPort returns the origin's "127.0.0.1:PORT", the form a Pushpin route takes.
func (o *gripOrigin) hostPort() string { return strings.TrimPrefix(o.URL, "http://") }

// lastSig returns the latest Grip-Sig received.
func (o *gripOrigin) lastSig() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sigs) == 0 {
		return ""
	}
	return o.sigs[len(o.sigs)-1]
}

func randHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// startTestPushpin starts a Pushpin in front of origin, stopped when the test ends.
func startTestPushpin(t *testing.T, origin *gripOrigin, sigKey string) *Pushpin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pp, err := StartPushpin(ctx, PushpinConfig{Origin: origin.hostPort(), SigKey: sigKey, Log: testLog(t, "pushpin")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pp.Stop(); err != nil {
			t.Error(err)
		}
	})
	return pp
}

// openStream opens a held stream through pp and reads the origin's initial event, after which the
// connection is subscribed. The stream is closed when the test ends.
func openStream(t *testing.T, pp *Pushpin) (*bufio.Reader, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pp.URL()+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", req.URL, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	if h := resp.Header.Get("Grip-Hold"); h != "" {
		t.Errorf("Grip-Hold leaked to the client: %q", h)
	}
	r := bufio.NewReader(resp.Body)
	if got, err := readUntil(r, "event: open\n"); err != nil {
		t.Fatalf("initial event: read %q: %v", got, err)
	}
	return r, resp
}

// publish publishes one http-stream item on channel through pp's publish port.
func publish(t *testing.T, pp *Pushpin, channel, content string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"items": []any{map[string]any{
		"channel": channel,
		"formats": map[string]any{"http-stream": map[string]string{"content": content}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(pp.PublishURL()+"/publish/", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: %s", resp.Status)
	}
}

func TestPushpinHoldPublishAndSignature(t *testing.T) {
	t.Parallel()
	requireTools(t)
	const sigKey = "test-sig-key"
	origin := newGripOrigin(t)
	pp := startTestPushpin(t, origin, sigKey)

	if !strings.HasPrefix(pp.URL(), "http://127.0.0.1:") || !strings.HasPrefix(pp.PublishURL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %s, PublishURL() = %s; want 127.0.0.1 URLs", pp.URL(), pp.PublishURL())
	}
	if strings.HasSuffix(pp.PublishURL(), "/") {
		t.Errorf("PublishURL() = %s has a trailing slash", pp.PublishURL())
	}

	r, _ := openStream(t, pp)
	publish(t, pp, origin.channel, "data: hi\n\n")
	if got, err := readUntil(r, "data: hi\n"); err != nil {
		t.Fatalf("published event: read %q: %v", got, err)
	}

	tests := []struct {
		name    string
		key     string
		wantErr bool
	}{
		{name: "configured key verifies", key: sigKey},
		{name: "other key fails", key: "not-the-key", wantErr: true},
	}
	sig := origin.lastSig()
	if sig == "" {
		t.Fatal("origin got no Grip-Sig header")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := jwt.RegisteredClaims{}
			_, err := jwt.ParseWithClaims(sig, &claims, func(*jwt.Token) (any, error) { return []byte(tt.key), nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("pushpin"), jwt.WithExpirationRequired())
			if (err != nil) != tt.wantErr {
				t.Fatalf("verify Grip-Sig with %q: error = %v, want error %v", tt.key, err, tt.wantErr)
			}
		})
	}
}

func TestPushpinSideBySide(t *testing.T) {
	t.Parallel()
	requireTools(t)
	// Both origins hold on the same channel name: a publish to one Pushpin must not reach the other's
	// clients.
	originA, originB := newGripOrigin(t), newGripOrigin(t)
	originB.channel = originA.channel
	ppA := startTestPushpin(t, originA, "key-a")
	ppB := startTestPushpin(t, originB, "key-b")
	if ppA.URL() == ppB.URL() || ppA.PublishURL() == ppB.PublishURL() {
		t.Fatalf("instances share ports: %s %s / %s %s", ppA.URL(), ppA.PublishURL(), ppB.URL(), ppB.PublishURL())
	}
	rA, _ := openStream(t, ppA)
	rB, _ := openStream(t, ppB)

	publish(t, ppA, originA.channel, "data: a1\n\n")
	publish(t, ppB, originB.channel, "data: b1\n\n")
	publish(t, ppA, originA.channel, "data: a2\n\n")
	tests := []struct {
		name  string
		r     *bufio.Reader
		until string
		never string
	}{
		{name: "instance a", r: rA, until: "data: a2\n", never: "b1"},
		{name: "instance b", r: rB, until: "data: b1\n", never: "a1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readUntil(tt.r, tt.until)
			if err != nil {
				t.Fatalf("read %q: %v", got, err)
			}
			if strings.Contains(got, tt.never) {
				t.Errorf("got %q, which holds the other instance's %q", got, tt.never)
			}
		})
	}
}

func TestPushpinRestartAndStop(t *testing.T) {
	t.Parallel()
	requireTools(t)
	origin := newGripOrigin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pp, err := StartPushpin(ctx, PushpinConfig{Origin: origin.hostPort(), SigKey: "k", Log: testLog(t, "pushpin")})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = pp.Stop()
		}
	})
	url, publishURL := pp.URL(), pp.PublishURL()
	r, _ := openStream(t, pp)

	if err := pp.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if pp.URL() != url || pp.PublishURL() != publishURL {
		t.Errorf("after Restart URLs are %s %s, want %s %s", pp.URL(), pp.PublishURL(), url, publishURL)
	}
	// The held connection ends with the old proxy.
	if got, err := readUntil(r, "never sent"); err == nil {
		t.Fatalf("old stream still open after Restart, read %q", got)
	}
	r2, _ := openStream(t, pp)
	publish(t, pp, origin.channel, "data: after-restart\n\n")
	if got, err := readUntil(r2, "data: after-restart\n"); err != nil {
		t.Fatalf("after Restart: read %q: %v", got, err)
	}

	helpers := descendants(pp.Pid())
	if len(helpers) < 4 {
		t.Errorf("pushpin runs %d helper processes, want at least 4 (condure, zurl, proxy, handler)", len(helpers))
	}
	dir := pp.Config().Dir
	if err := pp.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, h := range helpers {
		if h.Alive() {
			t.Errorf("helper pid %d alive after Stop", h.Pid)
		}
	}
	for _, u := range []string{url, publishURL} {
		if conn, err := net.Dial("tcp", strings.TrimPrefix(u, "http://")); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Stop", u)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run dir %s not removed after Stop (stat error %v)", dir, err)
	}
}

func TestStartPushpinRejectsBadConfig(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	tests := []struct {
		name string
		cfg  PushpinConfig
		want string
	}{
		{name: "origin without port", cfg: PushpinConfig{Origin: "127.0.0.1", SigKey: "k"}, want: "host:port"},
		{name: "no sig key", cfg: PushpinConfig{Origin: "127.0.0.1:1"}, want: "SigKey"},
		{name: "busy port", cfg: PushpinConfig{Origin: "127.0.0.1:1", SigKey: "k", HTTPPort: busy.Addr().(*net.TCPAddr).Port}, want: "http port"},
		{name: "dir too long", cfg: PushpinConfig{Origin: "127.0.0.1:1", SigKey: "k", Dir: "/tmp/" + strings.Repeat("d", 100)}, want: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pp, err := StartPushpin(context.Background(), tt.cfg)
			if err == nil {
				pp.Stop()
				t.Fatal("StartPushpin succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartPushpin error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
