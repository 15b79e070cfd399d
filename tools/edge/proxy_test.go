package edge

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// codingOrigin answers as the web function does: gzip with its own ETag
// when Accept-Encoding allows it, else the identity body. It reports the
// Accept-Encoding and Host it saw in response headers.
func codingOrigin(t *testing.T, plain string) *httptest.Server {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := io.WriteString(zw, plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Accept-Encoding", strings.Join(r.Header.Values("Accept-Encoding"), "|"))
		w.Header().Set("Seen-Host", r.Host)
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("ETag", `"v1-gz"`)
			_, _ = w.Write(gz.Bytes())
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, plain)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestProxyContentCoding: the origin sees the client's Accept-Encoding (or
// none) and the client gets the origin's coding, with the ETag of the body it
// got.
func TestProxyContentCoding(t *testing.T) {
	t.Parallel()
	const plain = "body of the asset, long enough to be worth compressing"
	origin := codingOrigin(t, plain)
	target, err := url.Parse(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(NewProxy(target))
	t.Cleanup(front.Close)
	// The client must not add or undo a coding itself.
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	tests := []struct {
		name, acceptEncoding, wantEncoding, wantETag string
	}{
		{"no Accept-Encoding", "", "", `"v1"`},
		{"identity", "identity", "", `"v1"`},
		{"gzip", "gzip", "gzip", `"v1-gz"`},
		{"browser list", "gzip, deflate, br, zstd", "gzip", `"v1-gz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, front.URL+"/app.css", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "chat.example"
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			resp, err := raw.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("Seen-Accept-Encoding"); got != tt.acceptEncoding {
				t.Errorf("origin saw Accept-Encoding %q, want the client's %q", got, tt.acceptEncoding)
			}
			if got := resp.Header.Get("Seen-Host"); got != "chat.example" {
				t.Errorf("origin saw Host %q, want the client's", got)
			}
			ce, etag := resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag")
			if ce != tt.wantEncoding || etag != tt.wantETag {
				t.Fatalf("Content-Encoding %q, ETag %s; want %q, %s", ce, etag, tt.wantEncoding, tt.wantETag)
			}
			if ce == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip body: %v", err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("gzip body: %v", err)
				}
			}
			if string(body) != plain {
				t.Errorf("body %q, want %q", body, plain)
			}
		})
	}
}
