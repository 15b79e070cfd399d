package proc

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPushpinContentCoding records what Pushpin (with zurl) does to content
// coding, which the local stack works around (devstack's
// identityBehindPushpin): whatever the client sends, the origin gets zurl's
// own Accept-Encoding, and a gzip answer reaches the client decompressed,
// without Content-Encoding but with the origin's ETag. The production path,
// Fastly, passes both on. If this test fails after a Pushpin upgrade, the
// workaround and its docs may be obsolete.
func TestPushpinContentCoding(t *testing.T) {
	requireTools(t)
	const plain = "hello, compressed world"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := io.WriteString(zw, plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan []string, 1)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Values("Accept-Encoding")
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
	defer origin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pp, err := StartPushpin(ctx, PushpinConfig{Origin: strings.TrimPrefix(origin.URL, "http://"), SigKey: "k", Log: testLog(t, "pushpin")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pp.Stop(); err != nil {
			t.Error(err)
		}
	}()
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	tests := []struct{ name, acceptEncoding string }{
		{"gzip", "gzip"},
		{"identity", "identity"},
		{"none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, pp.URL()+"/asset", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			resp, err := raw.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			got := <-seen
			if len(got) != 1 || got[0] == tt.acceptEncoding || !strings.Contains(got[0], "gzip") {
				t.Errorf("origin got Accept-Encoding %q for the client's %q; want zurl's own, with gzip", got, tt.acceptEncoding)
			}
			if ce := resp.Header.Get("Content-Encoding"); ce != "" || string(body) != plain || resp.Header.Get("ETag") != `"v1-gz"` {
				t.Errorf("client got Content-Encoding %q, ETag %s, body %q; want the decompressed body under the gzip ETag", ce, resp.Header.Get("ETag"), body)
			}
		})
	}
}
