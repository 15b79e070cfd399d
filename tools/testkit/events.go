package testkit

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Event reads the captured API Gateway HTTP API (payload 2.0) request
// testdata/apigw/<name> of the repository.
func Event(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatalf("testkit: repository root: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "apigw", name))
	if err != nil {
		t.Fatalf("testkit: read event: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("testkit: decode event %s: %v", name, err)
	}
	return ev
}

// EventJSON is Event edited by edit (when not nil), encoded as the payload a
// Lambda function receives.
func EventJSON(t testing.TB, name string, edit func(*events.APIGatewayV2HTTPRequest)) []byte {
	t.Helper()
	ev := Event(t, name)
	if edit != nil {
		edit(&ev)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("testkit: encode event %s: %v", name, err)
	}
	return out
}

// Invoke runs ev through h behind the real Lambda proxy adapter, as the
// deployed function does.
func Invoke(t testing.TB, h http.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatalf("testkit: proxy %s %s: %v", ev.RequestContext.HTTP.Method, ev.RawPath, err)
	}
	return resp
}

// WithPath points ev at another method and path (its path parameters stay
// as they are: the handlers read the path themselves).
func WithPath(ev events.APIGatewayV2HTTPRequest, method, rawPath string) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = rawPath
	ev.RawPath = rawPath
	return ev
}

// WithHeader returns ev with header name set to value, or removed when
// value is empty; ev's own header map is left as it was.
func WithHeader(ev events.APIGatewayV2HTTPRequest, name, value string) events.APIGatewayV2HTTPRequest {
	h := make(map[string]string, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		h[k] = v
	}
	if value == "" {
		delete(h, name)
	} else {
		h[name] = value
	}
	ev.Headers = h
	return ev
}

// WithBody returns ev with body as its plain (not base64) body.
func WithBody(ev events.APIGatewayV2HTTPRequest, body string) events.APIGatewayV2HTTPRequest {
	ev.Body, ev.IsBase64Encoded = body, false
	return ev
}

// WithQuery returns ev with q as its raw query string (its parsed
// parameters cleared: the handlers read the raw string).
func WithQuery(ev events.APIGatewayV2HTTPRequest, q string) events.APIGatewayV2HTTPRequest {
	ev.RawQueryString = q
	ev.QueryStringParameters = nil
	return ev
}

// ErrorOf decodes an error answer and returns its message, failing t if
// the answer is not JSON of the form {"error": "..."}.
func ErrorOf(t testing.TB, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", resp.Body, err)
	}
	msg, ok := body["error"].(string)
	if !ok || len(body) != 1 {
		t.Fatalf("error body = %s, want {\"error\": \"...\"}", resp.Body)
	}
	return msg
}
