package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// echo answers with the event it received as JSON, tagged with the function.
func echo(id string) Function {
	return func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		b, err := json.Marshal(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "application/json", "X-Function": id},
			Body:       string(b),
		}, nil
	}
}

// echoServer serves tmpl with every function echoing.
func echoServer(t *testing.T, tmpl *Template) *httptest.Server {
	t.Helper()
	fns := map[string]Function{}
	for _, id := range tmpl.FunctionIDs() {
		fns[id] = echo(id)
	}
	s, err := NewServer(tmpl, fns)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func TestServerRoutesFromTemplate(t *testing.T) {
	t.Parallel()
	srv := echoServer(t, loadTestTemplate(t, nil))
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantFunction       string
		wantRouteKey       string
	}{
		{"history", "GET", "/room/r1/messages?before=3", 200, "HistoryFunction", "GET /room/{room}/messages"},
		{"send", "POST", "/room/r1/messages", 200, "SendFunction", "POST /room/{room}/messages"},
		{"stream", "GET", "/room/r1/events", 200, "StreamFunction", "GET /room/{room}/events"},
		{"web greedy", "GET", "/style.css", 200, "WebFunction", "ANY /{proxy+}"},
		{"web root", "GET", "/", 200, "WebFunction", "GET /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var ev events.APIGatewayV2HTTPRequest
			if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("X-Function") != tt.wantFunction || ev.RouteKey != tt.wantRouteKey {
				t.Fatalf("got %d %s %q, want %d %s %q", resp.StatusCode, resp.Header.Get("X-Function"), ev.RouteKey, tt.wantStatus, tt.wantFunction, tt.wantRouteKey)
			}
			if resp.Header.Get("Apigw-Requestid") == "" || ev.RequestContext.RequestID != resp.Header.Get("Apigw-Requestid") {
				t.Fatalf("request id header %q, event %q", resp.Header.Get("Apigw-Requestid"), ev.RequestContext.RequestID)
			}
		})
	}
}

// TestServerServesRouteAddedToTemplate adds a route and a function to a copy
// of the template: both are served with no code change.
func TestServerServesRouteAddedToTemplate(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile(filepath.Join("testdata", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(string(base), "        Rooms:\n", `        Health:
          Type: HttpApi
          Properties:
            Path: /healthz/{check}
            Method: GET
        Rooms:
`, 1)
	added = strings.Replace(added, "\nOutputs:", `
  ExtraFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Events:
        Extra:
          Type: HttpApi
          Properties:
            Path: /extra
            Method: PATCH
Outputs:`, 1)
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplate(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := echoServer(t, tmpl)
	tests := []struct{ name, method, path, fn, routeKey string }{
		{"new route of an existing function", "GET", "/healthz/db", "HistoryFunction", "GET /healthz/{check}"},
		{"new function", "PATCH", "/extra", "ExtraFunction", "PATCH /extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var ev events.APIGatewayV2HTTPRequest
			if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("X-Function") != tt.fn || ev.RouteKey != tt.routeKey {
				t.Fatalf("served by %q as %q, want %q as %q", resp.Header.Get("X-Function"), ev.RouteKey, tt.fn, tt.routeKey)
			}
		})
	}
}

func TestServerNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, method, path string }{
		{"unknown path", "GET", "/room/a/b/c/d"},
		{"wrong method", "DELETE", "/rooms"},
	}
	// The test template has ANY /{proxy+}; use one without it.
	tmpl, err := ParseTemplate([]byte(fnYAML("X: y", "/rooms", "GET")), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := echoServer(t, tmpl)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 404 || string(body) != `{"message":"Not Found"}` || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

func TestServerFunctionFailures(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate([]byte(`Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 1
      Events:
        Err: {Type: HttpApi, Properties: {Path: /err, Method: GET}}
        Slow: {Type: HttpApi, Properties: {Path: /slow, Method: GET}}
        BadBody: {Type: HttpApi, Properties: {Path: /bad, Method: GET}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		switch req.RawPath {
		case "/err":
			return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
		case "/slow":
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		default:
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, nil
		}
	}
	s, err := NewServer(tmpl, map[string]Function{"Fn": fn})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/err", "/slow", "/bad"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 500 || string(body) != `{"message":"Internal Server Error"}` {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestNewServerMissingFunction(t *testing.T) {
	t.Parallel()
	tmpl := loadTestTemplate(t, nil)
	if _, err := NewServer(tmpl, map[string]Function{"SendFunction": echo("s")}); err == nil {
		t.Fatal("a route without a function was accepted")
	}
}

// TestInProcessRoundTrip runs a real http.Handler through the same adapter
// the Lambda main uses and checks what the handler sees and what the client
// gets back.
func TestInProcessRoundTrip(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseTemplate([]byte(fnYAML("X: y", "/room/{room}/{proxy+}", "ANY")), nil)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Path, Query, Cookie, Multi, Body string
	}
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c, _ := r.Cookie("chat_user")
		got = seen{
			Path: r.URL.Path, Query: r.URL.Query().Get("q"),
			Multi: strings.Join(r.Header.Values("X-Multi"), "|"), Body: string(b),
		}
		if c != nil {
			got.Cookie = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Out", "x")
		w.Header().Add("X-Out", "y")
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(201)
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0xff})
	})
	s, err := NewServer(tmpl, map[string]Function{"Fn": InProcess(h)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/room/r1/x/y?q=1", strings.NewReader("\x00\x01binary"))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Add("Cookie", "chat_user=ann")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	want := seen{Path: "/room/r1/x/y", Query: "1", Cookie: "ann", Multi: "a|b", Body: "\x00\x01binary"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handler saw %+v, want %+v", got, want)
	}
	if resp.StatusCode != 201 || string(body) != "\x89PNG\xff" || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("response %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if c := resp.Header.Values("Set-Cookie"); !reflect.DeepEqual(c, []string{"a=1", "b=2"}) {
		t.Errorf("Set-Cookie = %q", c)
	}
	if v := resp.Header.Get("X-Out"); v != "x,y" {
		t.Errorf("X-Out = %q, want the comma-joined header", v)
	}
}

func TestWriteResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resp       events.APIGatewayV2HTTPResponse
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name:       "base64 body and cookies",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "aGk=", IsBase64Encoded: true, Cookies: []string{"a=1; HttpOnly", "b=2"}, Headers: map[string]string{"content-type": "text/plain"}},
			wantStatus: 200,
			wantBody:   "hi",
			wantHeader: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1; HttpOnly", "b=2"}},
		},
		{
			name:       "multiValueHeaders for names not in headers",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{"x-a": "1"}, MultiValueHeaders: map[string][]string{"x-a": {"ignored"}, "x-b": {"1", "2"}}},
			wantStatus: 204,
			wantHeader: http.Header{"X-A": {"1"}, "X-B": {"1", "2"}},
		},
		{
			name:       "no status is 200 and no content type is sniffed",
			resp:       events.APIGatewayV2HTTPResponse{Body: "<html>"},
			wantStatus: 200,
			wantBody:   "<html>",
			wantHeader: http.Header{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			if err := WriteResponse(rec, tt.resp); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q", rec.Code, rec.Body.String())
			}
			h := rec.Result().Header
			for k, v := range tt.wantHeader {
				if !reflect.DeepEqual(h[k], v) {
					t.Errorf("%s = %q, want %q", k, h[k], v)
				}
			}
			if len(tt.wantHeader) == 0 && h.Get("Content-Type") != "" {
				t.Errorf("Content-Type %q was sniffed", h.Get("Content-Type"))
			}
		})
	}
}

func TestRemote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		funcErr bool
		body    string
		want    events.APIGatewayV2HTTPResponse
		wantErr bool
	}{
		{
			name: "structured response",
			body: `{"statusCode":201,"headers":{"a":"b"},"body":"x","cookies":["c=1"]}`,
			want: events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"a": "b"}, Body: "x", Cookies: []string{"c=1"}},
		},
		{
			name: "bare JSON is a 200 JSON body",
			body: `{"hello":"world"}`,
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: `{"hello":"world"}`},
		},
		{name: "function error payload", body: `{"errorMessage":"boom","errorType":"errorString"}`, wantErr: true},
		{name: "function error header", funcErr: true, body: `{"errorMessage":"x"}`, wantErr: true},
		{name: "emulator failure", status: 502, body: `bad`, wantErr: true},
		{name: "not JSON", body: `nope`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotEvent map[string]any
			rie := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" || r.URL.Path != "/2015-03-31/functions/function/invocations" {
					http.Error(w, "wrong endpoint", 400)
					return
				}
				_ = json.NewDecoder(r.Body).Decode(&gotEvent)
				if tt.funcErr {
					w.Header().Set("X-Amz-Function-Error", "Unhandled")
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(rie.Close)
			fn := Remote(rie.URL+"/2015-03-31/functions/function/invocations", rie.Client())
			got, err := fn(context.Background(), events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/x"})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if gotEvent["rawPath"] != "/x" || gotEvent["version"] != "2.0" {
				t.Fatalf("emulator got event %v", gotEvent)
			}
			if _, ok := gotEvent["requestContext"].(map[string]any)["authentication"]; ok {
				t.Fatal("empty authentication sent")
			}
		})
	}
}
