package webui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/webui"
)

const testRooms = "lobby:The Lobby,dev-ops:Dev <Ops>"

// lambdaSite is the web handler behind the same adapter as in the Lambda.
type lambdaSite struct {
	t       *testing.T
	adapter *httpadapter.HandlerAdapterV2
}

func newSite(t *testing.T, opts ...webui.Option) *lambdaSite {
	t.Helper()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatalf("parse rooms: %v", err)
	}
	h, err := webui.New(rooms, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &lambdaSite{t: t, adapter: httpadapter.NewV2(h)}
}

// response is a decoded API Gateway answer.
type response struct {
	status  int
	headers http.Header
	body    []byte
	base64  bool
}

// get sends a payload-2.0 GET event with the given (lower-case) headers.
func (s *lambdaSite) get(path string, headers map[string]string) response {
	s.t.Helper()
	return s.do(http.MethodGet, path, headers)
}

func (s *lambdaSite) do(method, path string, headers map[string]string) response {
	s.t.Helper()
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        rawPath,
		RawQueryString: rawQuery,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "chat.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method,
				Path:   rawPath,
			},
		},
	}
	res, err := s.adapter.ProxyWithContext(context.Background(), ev)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(res.Body)
		if err != nil {
			s.t.Fatalf("%s %s: decode base64 body: %v", method, path, err)
		}
	}
	h := http.Header{}
	for k, v := range res.Headers {
		h.Set(k, v)
	}
	return response{status: res.StatusCode, headers: h, body: body, base64: res.IsBase64Encoded}
}

// assetURL finds the fingerprinted URL the room page uses for name
// ("app", ".js").
func assetURL(t *testing.T, page []byte, base, ext string) string {
	t.Helper()
	re := regexp.MustCompile(`"(/` + regexp.QuoteMeta(base) + `\.[0-9a-f]{12}` + regexp.QuoteMeta(ext) + `)"`)
	m := re.FindSubmatch(page)
	if m == nil {
		t.Fatalf("page has no fingerprinted %s%s:\n%s", base, ext, page)
	}
	return string(m[1])
}

func TestRedirectFromRoot(t *testing.T) {
	t.Parallel()
	res := newSite(t).get("/", nil)
	if res.status != http.StatusFound {
		t.Fatalf("status = %d, want 302", res.status)
	}
	if got := res.headers.Get("Location"); got != "/room/lobby" {
		t.Errorf("Location = %q, want /room/lobby", got)
	}
}

func TestRoomPage(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		want    []string
		notWant []string
	}{
		{
			name:    "signed in",
			path:    "/room/lobby",
			headers: map[string]string{"x-user": "alice"},
			want: []string{
				`<h1 id="room-title">The Lobby</h1>`,
				`<meta name="chat-room" content="lobby">`,
				`<meta name="chat-user" content="alice">`,
				`<form id="composer"`,
				`data-max-length="500"`,
				`<a href="/room/lobby" aria-current="page">The Lobby</a>`,
				`<a href="/room/dev-ops">Dev &lt;Ops&gt;</a>`,
			},
			notWant: []string{`id="read-only"`},
		},
		{
			name: "guest is read-only",
			path: "/room/dev-ops",
			want: []string{
				`<meta name="chat-user" content="">`,
				`id="read-only"`,
				`<h1 id="room-title">Dev &lt;Ops&gt;</h1>`,
			},
			notWant: []string{`<form id="composer"`},
		},
		{
			name:    "user is escaped",
			path:    "/room/lobby",
			headers: map[string]string{"x-user": `"><script>alert(1)</script>`},
			want: []string{
				`<meta name="chat-user" content="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">`,
				`<strong id="user-name">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</strong>`,
			},
			notWant: []string{`<script>alert(1)`},
		},
		{
			name:    "name the API refuses is a guest",
			path:    "/room/lobby",
			headers: map[string]string{"x-user": strings.Repeat("n", 65)},
			want:    []string{`<meta name="chat-user" content="">`, `id="read-only"`},
			notWant: []string{`<form id="composer"`},
		},
		{
			// The Lambda proxy adapter splits header values on commas, so
			// "Smith, Jo" and "Smith,Jo" would arrive as one name: the API
			// refuses names with a comma, and the page shows a guest.
			name:    "user with a comma is a guest",
			path:    "/room/lobby",
			headers: map[string]string{"x-user": "Smith, Jo"},
			want:    []string{`<meta name="chat-user" content="">`, `id="read-only"`},
			notWant: []string{`<form id="composer"`, `Smith`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := site.get(tt.path, tt.headers)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.status)
			}
			if ct := res.headers.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := res.headers.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store (the page names the viewer)", cc)
			}
			for _, w := range tt.want {
				if !bytes.Contains(res.body, []byte(w)) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, nw := range tt.notWant {
				if bytes.Contains(res.body, []byte(nw)) {
					t.Errorf("page has %s", nw)
				}
			}
			if bytes.Contains(res.body, []byte("<script>")) || regexp.MustCompile(`<script(?: [^>]*)?>[^<]`).Match(res.body) {
				t.Errorf("page has an inline script")
			}
			if regexp.MustCompile(`\sstyle=|\son[a-z]+=`).Match(res.body) {
				t.Errorf("page has an inline style or event handler attribute")
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	tests := []struct {
		name string
		path string
		want string
	}{
		{"unknown room", "/room/nope", "There is no room called <strong>nope</strong>"},
		{"unknown room escaped", "/room/%3Cb%3E", "There is no room called <strong>&lt;b&gt;</strong>"},
		{"unknown asset", "/nothing.js", "There is nothing at this address"},
		{"deeper path", "/room/lobby/extra", "There is nothing at this address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := site.get(tt.path, nil)
			if res.status != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", res.status)
			}
			if ct := res.headers.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !bytes.Contains(res.body, []byte(tt.want)) {
				t.Errorf("body lacks %q:\n%s", tt.want, res.body)
			}
			if !bytes.Contains(res.body, []byte(`<a href="/room/lobby">The Lobby</a>`)) {
				t.Errorf("404 page does not offer the rooms")
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	page := site.get("/room/lobby", nil).body
	for _, path := range []string{"/", "/room/lobby", "/room/nope", assetURL(t, page, "app", ".js"), "/style.css"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			res := site.get(path, nil)
			want := map[string]string{
				"Content-Security-Policy": "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
			}
			for k, v := range want {
				if got := res.headers.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	page := site.get("/room/lobby", nil).body
	tests := []struct {
		name        string
		path        string
		contentType string
		cache       string
		contains    string
	}{
		{"fingerprinted module", assetURL(t, page, "app", ".js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "new RoomPage()"},
		{"plain module", "/app.js", "text/javascript; charset=utf-8", "public, no-cache", "new RoomPage()"},
		{"stylesheet", assetURL(t, page, "style", ".css"), "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"favicon", assetURL(t, page, "favicon", ".svg"), "image/svg+xml", "public, max-age=31536000, immutable", "<svg"},
		{"imported module", assetURL(t, page, "messages", ".js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "class MessageList"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := site.get(tt.path, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.status)
			}
			if got := res.headers.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := res.headers.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if res.headers.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding = %q without Accept-Encoding", res.headers.Get("Content-Encoding"))
			}
			if !bytes.Contains(res.body, []byte(tt.contains)) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if res.headers.Get("ETag") == "" {
				t.Errorf("no ETag")
			}
		})
	}
}

func TestModuleImportsAreFingerprinted(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	page := site.get("/room/lobby", nil).body
	app := site.get(assetURL(t, page, "app", ".js"), nil).body
	imports := regexp.MustCompile(`from '(\./[^']+)'`).FindAllSubmatch(app, -1)
	if len(imports) == 0 {
		t.Fatalf("app.js imports nothing")
	}
	for _, m := range imports {
		spec := string(m[1])
		if !regexp.MustCompile(`^\./[a-z]+\.[0-9a-f]{12}\.js$`).MatchString(spec) {
			t.Errorf("import %s is not fingerprinted", spec)
			continue
		}
		if res := site.get(strings.TrimPrefix(spec, "."), nil); res.status != http.StatusOK {
			t.Errorf("import %s: status %d", spec, res.status)
		}
		if !bytes.Contains(page, []byte(`<link rel="modulepreload" href="`+strings.TrimPrefix(spec, ".")+`">`)) {
			t.Errorf("page does not preload %s", spec)
		}
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	page := site.get("/room/lobby", nil).body
	appURL := assetURL(t, page, "app", ".js")
	plain := site.get(appURL, nil)
	tests := []struct {
		name           string
		acceptEncoding string
		wantGzip       bool
	}{
		{"browser", "gzip, deflate, br, zstd", true},
		{"gzip only", "gzip", true},
		{"star", "*", true},
		{"refused by q=0", "gzip;q=0, br", false},
		{"star refused", "*;q=0", false},
		{"identity only", "identity", false},
		{"gzip allowed though star refused", "*;q=0, gzip;q=0.5", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := site.get(appURL, map[string]string{"accept-encoding": tt.acceptEncoding})
			if res.status != http.StatusOK {
				t.Fatalf("status = %d", res.status)
			}
			if got := res.headers.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			gotGzip := res.headers.Get("Content-Encoding") == "gzip"
			if gotGzip != tt.wantGzip {
				t.Fatalf("gzip = %v, want %v", gotGzip, tt.wantGzip)
			}
			if !tt.wantGzip {
				if !bytes.Equal(res.body, plain.body) {
					t.Errorf("identity body differs from the plain one")
				}
				return
			}
			if !res.base64 {
				t.Errorf("gzip body not base64-encoded for API Gateway")
			}
			if len(res.body) >= len(plain.body) {
				t.Errorf("gzip body %d bytes, plain %d", len(res.body), len(plain.body))
			}
			zr, err := gzip.NewReader(bytes.NewReader(res.body))
			if err != nil {
				t.Fatalf("gzip reader: %v", err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			if !bytes.Equal(got, plain.body) {
				t.Errorf("gunzipped body differs from the plain one")
			}
			if res.headers.Get("ETag") == plain.headers.Get("ETag") {
				t.Errorf("gzip and identity share ETag %s", plain.headers.Get("ETag"))
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	first := site.get("/style.css", nil)
	etag := first.headers.Get("ETag")
	gz := site.get("/style.css", map[string]string{"accept-encoding": "gzip"})
	gzETag := gz.headers.Get("ETag")
	tests := []struct {
		name        string
		headers     map[string]string
		wantStatus  int
		wantNoBytes bool
	}{
		{"matching", map[string]string{"if-none-match": etag}, http.StatusNotModified, true},
		{"weak matching", map[string]string{"if-none-match": "W/" + etag}, http.StatusNotModified, true},
		{"in a list", map[string]string{"if-none-match": `"nope", ` + etag}, http.StatusNotModified, true},
		{"star", map[string]string{"if-none-match": "*"}, http.StatusNotModified, true},
		{"stale", map[string]string{"if-none-match": `"0000"`}, http.StatusOK, false},
		{"gzip tag, gzip accepted", map[string]string{"if-none-match": gzETag, "accept-encoding": "gzip"}, http.StatusNotModified, true},
		{"gzip tag, gzip not accepted", map[string]string{"if-none-match": gzETag}, http.StatusOK, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := site.get("/style.css", tt.headers)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if tt.wantNoBytes && len(res.body) != 0 {
				t.Errorf("304 has a %d-byte body", len(res.body))
			}
			if res.headers.Get("ETag") == "" || res.headers.Get("Cache-Control") == "" {
				t.Errorf("response lacks ETag or Cache-Control: %v", res.headers)
			}
		})
	}
}

func TestHeadAndMethods(t *testing.T) {
	t.Parallel()
	site := newSite(t)
	head := site.do(http.MethodHead, "/app.js", nil)
	if head.status != http.StatusOK || len(head.body) != 0 {
		t.Errorf("HEAD /app.js: status %d, %d body bytes; want 200 and none", head.status, len(head.body))
	}
	post := site.do(http.MethodPost, "/room/lobby", nil)
	if post.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /room/lobby: status %d, want 405", post.status)
	}
}

func TestFingerprintFollowsContent(t *testing.T) {
	t.Parallel()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatal(err)
	}
	files := func(dep string) fstest.MapFS {
		return fstest.MapFS{
			"app.js":      {Data: []byte("import { x } from './dep.js';\nconsole.log(x);\n")},
			"dep.js":      {Data: []byte(dep)},
			"style.css":   {Data: []byte("body{}")},
			"favicon.svg": {Data: []byte("<svg/>")},
		}
	}
	appURL := func(dep string) string {
		h, err := webui.New(rooms, webui.WithAssets(files(dep)))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		site := &lambdaSite{t: t, adapter: httpadapter.NewV2(h)}
		return assetURL(t, site.get("/room/lobby", nil).body, "app", ".js")
	}
	a, b := appURL("export const x = 1;\n"), appURL("export const x = 2;\n")
	if a == b {
		t.Errorf("app.js keeps URL %s when the module it imports changes", a)
	}
}

func TestNewRejectsBrokenAssets(t *testing.T) {
	t.Parallel()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files fstest.MapFS
	}{
		{"missing import", fstest.MapFS{
			"app.js": {Data: []byte("import './gone.js';")}, "style.css": {Data: []byte("")}, "favicon.svg": {Data: []byte("")},
		}},
		{"import cycle", fstest.MapFS{
			"app.js": {Data: []byte("import './b.js';")}, "b.js": {Data: []byte("import './app.js';")},
			"style.css": {Data: []byte("")}, "favicon.svg": {Data: []byte("")},
		}},
		{"asset the page needs is missing", fstest.MapFS{
			"app.js": {Data: []byte("")}, "favicon.svg": {Data: []byte("")},
		}},
		{"folder", fstest.MapFS{
			"app.js": {Data: []byte("")}, "style.css": {Data: []byte("")}, "favicon.svg": {Data: []byte("")},
			"img/x.png": {Data: []byte("")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := webui.New(rooms, webui.WithAssets(tt.files)); err == nil {
				t.Errorf("New succeeded, want an error")
			}
		})
	}
}

func TestNewFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  bool
		location string
		page     string
		want     string
	}{
		{name: "default rooms", env: map[string]string{}, location: "/room/devops-exchange-ldn", page: "/room/devops-bcn", want: "DevOps Barcelona"},
		{name: "configured rooms", env: map[string]string{"ROOMS": "a:Alpha,b"}, location: "/room/a", page: "/room/b", want: `<h1 id="room-title">b</h1>`},
		{name: "sign-in URL", env: map[string]string{"SIGN_IN_URL": "https://login.example.com/"}, location: "/room/devops-exchange-ldn", page: "/room/devops-bcn", want: `<a href="https://login.example.com/">Sign in</a>`},
		{name: "bad rooms", env: map[string]string{"ROOMS": "Not A Slug"}, wantErr: true},
		{name: "bad sign-in URL", env: map[string]string{"SIGN_IN_URL": "javascript:alert(1)"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := webui.NewFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewFromEnv succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewFromEnv: %v", err)
			}
			site := &lambdaSite{t: t, adapter: httpadapter.NewV2(h)}
			if got := site.get("/", nil).headers.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if body := site.get(tt.page, nil).body; !bytes.Contains(body, []byte(tt.want)) {
				t.Errorf("%s lacks %q", tt.page, tt.want)
			}
		})
	}
}
