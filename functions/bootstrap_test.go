package functions_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// requireTools fails the test when a tool is missing, and skips it under
// -short (unit tests only).
func requireTools(t *testing.T) {
	t.Helper()
	testkit.Require(t, testkit.DynamoDBLocal, testkit.RIE)
}

// publishRecorder stands in for the GRIP proxy's publish endpoint.
type publishRecorder struct {
	mu     sync.Mutex
	bodies []string
}

func (p *publishRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.bodies = append(p.bodies, r.Method+" "+r.URL.Path+" "+string(b))
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "Published\n")
}

func (p *publishRecorder) published() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// testEvent is a captured API Gateway v2 request, edited, as a payload.
func testEvent(t *testing.T, name string, edit func(*events.APIGatewayV2HTTPRequest)) []byte {
	t.Helper()
	return testkit.EventJSON(t, name, edit)
}

func invokeRIE(t *testing.T, ctx context.Context, rie *proc.RIE, payload []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := rie.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("invoke answered %s, not an API Gateway v2 response (%v)", out, err)
	}
	return resp
}

// TestBootstraps builds each function as SAM does (lambda.norpc, bootstrap)
// and drives it under the Lambda Runtime Interface Emulator with the
// captured API Gateway v2 events, against DynamoDB Local.
func TestBootstraps(t *testing.T) {
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	db, err := proc.StartDynamoDB(ctx, proc.DynamoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	const table = "bootstrap-test"
	client, err := wire.NewDynamoClient(ctx, db.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.EnsureTable(ctx, client, table, false); err != nil {
		t.Fatal(err)
	}
	rec := &publishRecorder{}
	grip := httptest.NewServer(rec)
	t.Cleanup(grip.Close)

	common := []string{"TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + db.Endpoint(), "AWS_LAMBDA_LOG_FORMAT=JSON"}
	envs := map[string][]string{
		"send":    append([]string{"API_KEYS=test-api-key", "ADMIN_KEY=test-admin-key", "GRIP_URL=" + grip.URL}, common...),
		"history": common,
		"stream":  append([]string{"GRIP_VERIFY_KEY=test-sig-key", "GRIP_VERIFY_ISS=pushpin"}, common...),
	}
	dir := t.TempDir()
	ries := map[string]*proc.RIE{}
	for _, fn := range []string{"send", "history", "stream"} {
		bin, err := proc.BuildBootstrap(ctx, "./functions/"+fn, filepath.Join(dir, fn))
		if err != nil {
			t.Fatal(err)
		}
		rie, err := proc.StartRIE(ctx, proc.RIEConfig{Bootstrap: bin, Env: envs[fn], Log: t.Output()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rie.Stop() })
		ries[fn] = rie
	}

	// send: 201, stored and published.
	resp := invokeRIE(t, ctx, ries["send"], testEvent(t, "send-post-message.json", nil))
	if resp.StatusCode != http.StatusCreated || !strings.Contains(resp.Body, `"id":1`) {
		t.Fatalf("send answered %d %s", resp.StatusCode, resp.Body)
	}
	if pubs := rec.published(); len(pubs) != 1 || !strings.HasPrefix(pubs[0], "POST /publish/") || !strings.Contains(pubs[0], "room-devops-bcn") {
		t.Errorf("publishes = %q, want one POST /publish/ on room-devops-bcn", pubs)
	}
	resp = invokeRIE(t, ctx, ries["send"], testEvent(t, "send-post-message.json", func(ev *events.APIGatewayV2HTTPRequest) {
		delete(ev.Headers, "x-api-key")
	}))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Body, "API key is missing") {
		t.Errorf("send without key answered %d %s", resp.StatusCode, resp.Body)
	}

	// history: the message, newest page.
	resp = invokeRIE(t, ctx, ries["history"], testEvent(t, "history-messages.json", nil))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"lastEventId":1`) || !strings.Contains(resp.Body, "Hello **world**") {
		t.Errorf("history answered %d %s", resp.StatusCode, resp.Body)
	}
	resp = invokeRIE(t, ctx, ries["history"], testEvent(t, "history-rooms.json", nil))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"default":"devops-exchange-ldn"`) {
		t.Errorf("rooms answered %d %s", resp.StatusCode, resp.Body)
	}

	// stream: 406 unsigned, a hold replaying the message when signed.
	resp = invokeRIE(t, ctx, ries["stream"], testEvent(t, "stream-events.json", func(ev *events.APIGatewayV2HTTPRequest) {
		delete(ev.Headers, "grip-sig")
	}))
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("unsigned stream answered %d %s", resp.StatusCode, resp.Body)
	}
	sig, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("test-sig-key"))
	if err != nil {
		t.Fatal(err)
	}
	resp = invokeRIE(t, ctx, ries["stream"], testEvent(t, "stream-events.json", func(ev *events.APIGatewayV2HTTPRequest) {
		ev.Headers["grip-sig"] = sig
		ev.Headers["last-event-id"] = "0"
	}))
	if resp.StatusCode != http.StatusOK || resp.Headers["Grip-Hold"] != "stream" ||
		resp.Headers["Grip-Channel"] != "room-devops-bcn; prev-id=1" || !strings.Contains(resp.Body, "id: 1\nevent: message\n") {
		t.Errorf("stream answered %d %v %q", resp.StatusCode, resp.Headers, resp.Body)
	}
	resp = invokeRIE(t, ctx, ries["stream"], testEvent(t, "stream-events-next-link.json", func(ev *events.APIGatewayV2HTTPRequest) {
		ev.Headers["grip-sig"] = sig
	}))
	if resp.StatusCode != http.StatusOK || resp.Body != "" || resp.Headers["Grip-Channel"] != "room-devops-bcn; prev-id=1" {
		t.Errorf("next link answered %d %v %q", resp.StatusCode, resp.Headers, resp.Body)
	}

	// send again: delete, then the admin clear.
	resp = invokeRIE(t, ctx, ries["send"], testEvent(t, "send-delete-message.json", nil))
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete answered %d %s", resp.StatusCode, resp.Body)
	}
	resp = invokeRIE(t, ctx, ries["send"], testEvent(t, "send-admin-clear-room.json", nil))
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("admin clear answered %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(rec.published()); n != 3 {
		t.Errorf("%d publishes, want 3 (message, delete, refresh)", n)
	}
}

// TestBootstrapMissingConfig checks that a function without its required
// configuration exits at cold start rather than serving.
func TestBootstrapMissingConfig(t *testing.T) {
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := proc.BuildBootstrap(ctx, "./functions/history", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	var mu sync.Mutex
	rie, err := proc.StartRIE(ctx, proc.RIEConfig{Bootstrap: bin, Log: writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return log.Write(p)
	})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rie.Stop() })
	out, err := rie.Invoke(ctx, testEvent(t, "history-rooms.json", nil))
	if err == nil && !strings.Contains(string(out), "errorType") {
		t.Fatalf("a history function without TABLE_NAME answered %s", out)
	}
	// The log reaches us through a pipe copied by another goroutine: stop
	// the RIE (which waits for that copy) before reading it, rather than
	// hoping the copy kept up with the invoke.
	if err := rie.Stop(); err != nil {
		t.Fatalf("stop the RIE: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), "TABLE_NAME") {
		t.Errorf("the cold start log does not name TABLE_NAME:\n%s", log.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
