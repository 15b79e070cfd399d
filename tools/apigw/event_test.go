package apigw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// fixedMeta is the API Gateway side of the requests built in these tests.
var fixedTime = time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)

func fixedMeta() RequestMeta {
	return RequestMeta{
		RequestID: "req-1",
		Time:      fixedTime,
		AccountID: LocalAccountID,
		APIID:     LocalAPIID,
		TraceID:   "Root=1-6638817a-000000000000000000000001",
	}
}

// TestNewEventMatchesCaptured rebuilds the request behind an event captured
// from API Gateway (aws-lambda-go's testdata) and expects that event.
func TestNewEventMatchesCaptured(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com/", nil)
	r.RemoteAddr = "1.2.3.4:51234"
	r.Header.Set("Accept", "*/*")
	r.Header.Set("User-Agent", "curl/7.58.0")
	meta := RequestMeta{
		RequestID: "LV7fzho-PHcEJPw=",
		Time:      time.UnixMilli(1587481701067),
		AccountID: "123456789012",
		APIID:     "aaaaaaaaaa",
		TraceID:   "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c",
	}
	got := NewEvent(r, Route{Function: "Fn"}, nil, nil, meta)
	compareEventFile(t, got, filepath.Join("testdata", "captured", "apigw-v2-request-no-authorizer.json"))
}

func TestNewEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		build  func() *http.Request
		route  Route
		params map[string]string
		body   string
		file   string
	}{
		{
			name: "json post with path parameter and query",
			build: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "http://localhost:3000/room/devops-bcn/messages?x=1", strings.NewReader(`{"text":"hi"}`))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Api-Key", "k1")
				r.Header.Set("X-User", "ann")
				r.Header.Set("Accept", "*/*")
				r.Header.Set("User-Agent", "curl/8.0")
				r.Header.Set("Content-Length", "13")
				return r
			},
			route:  Route{Method: "POST", Path: "/room/{room}/messages"},
			params: map[string]string{"room": "devops-bcn"},
			body:   `{"text":"hi"}`,
			file:   "post-json.json",
		},
		{
			name: "cookies, repeated headers and repeated query",
			build: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/room/devops-bcn/events?lastEventId=5&tag=a&tag=b", nil)
				r.Header.Add("Cookie", "chat_user=ann; theme=dark")
				r.Header.Add("Cookie", "x=1")
				r.Header.Set("Accept", "text/event-stream")
				r.Header.Add("X-Multi", "a")
				r.Header.Add("X-Multi", "b")
				r.Header.Set("Grip-Sig", "tok")
				r.Header.Set("X-Forwarded-For", "10.0.0.9")
				return r
			},
			route:  Route{Method: "GET", Path: "/room/{room}/events"},
			params: map[string]string{"room": "devops-bcn"},
			file:   "cookies-query.json",
		},
		{
			name: "binary body on a greedy route is base64",
			build: func() *http.Request {
				r := httptest.NewRequest(http.MethodPut, "http://localhost:3000/assets/a%20b.bin", strings.NewReader("\x00\xff\x10"))
				r.Header.Set("Content-Type", "application/octet-stream")
				return r
			},
			route:  Route{Method: "ANY", Path: "/{proxy+}"},
			params: map[string]string{"proxy": "assets/a b.bin"},
			body:   "\x00\xff\x10",
			file:   "binary-proxy.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.build()
			r.RemoteAddr = "127.0.0.1:40000"
			got := NewEvent(r, tt.route, tt.params, []byte(tt.body), fixedMeta())
			compareEventFile(t, got, filepath.Join("testdata", "events", tt.file))
		})
	}
}

func TestNewEventBodyEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		wantBase64  bool
	}{
		{"json", "application/json; charset=utf-8", false},
		{"problem json", "application/problem+json", false},
		{"plain text", "text/plain", false},
		{"html", "text/html; charset=utf-8", false},
		{"xml", "application/xml", false},
		{"form post", "application/x-www-form-urlencoded", true},
		{"octet stream", "application/octet-stream", true},
		{"png", "image/png", true},
		{"no content type", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "http://localhost/x", strings.NewReader("a=b"))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			ev := NewEvent(r, Route{Method: "POST", Path: "/x"}, nil, []byte("a=b"), fixedMeta())
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.wantBase64)
			}
			want := "a=b"
			if tt.wantBase64 {
				want = "YT1i"
			}
			if ev.Body != want {
				t.Fatalf("body = %q, want %q", ev.Body, want)
			}
		})
	}
}

// compareEventFile compares got with the event in file key by key, so a
// missing, extra or differently shaped field is named.
func compareEventFile(t *testing.T, got events.APIGatewayV2HTTPRequest, file string) {
	t.Helper()
	wantJSON, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := MarshalEvent(got)
	if err != nil {
		t.Fatal(err)
	}
	var want, have any
	if err := json.Unmarshal(wantJSON, &want); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := json.Unmarshal(gotJSON, &have); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	diffJSON("", want, have, &diffs)
	if len(diffs) > 0 {
		t.Errorf("event differs from %s:\n%s", file, strings.Join(diffs, "\n"))
	}
}

func diffJSON(path string, want, got any, out *[]string) {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, inW := wm[k]
			gv, inG := gm[k]
			switch {
			case !inW:
				*out = append(*out, fmt.Sprintf("%s.%s: unexpected %v", path, k, gv))
			case !inG:
				*out = append(*out, fmt.Sprintf("%s.%s: missing, want %v", path, k, wv))
			default:
				diffJSON(path+"."+k, wv, gv, out)
			}
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got, want))
	}
}
