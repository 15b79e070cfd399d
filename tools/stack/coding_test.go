package stack

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// representation is one answer's coding, ETag and raw body.
type representation struct {
	encoding, etag, body string
}

// fetch GETs u with that Accept-Encoding ("" sends none), through a client
// that neither adds nor undoes a coding.
func fetch(t *testing.T, u, acceptEncoding string) representation {
	t.Helper()
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	h := http.Header{}
	if acceptEncoding != "" {
		h.Set("Accept-Encoding", acceptEncoding)
	}
	resp, body := do(t, raw, "GET", u, nil, h)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %.200q", u, resp.StatusCode, body)
	}
	return representation{resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"), body}
}

// TestStackETagMatchesBody fetches a web asset through the edge stand-in and
// through Pushpin with several Accept-Encoding values and expects every
// answer's ETag to be the one the web function gives that very body (as
// measured on the API directly). Through the edge the client gets the
// coding it asked for; through Pushpin, which cannot pass a compressed body
// on (see identityBehindPushpin), the identity body.
func TestStackETagMatchesBody(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	cfg := testConfig(t, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	_, page := do(t, http.DefaultClient, "GET", s.APIURL()+"/", nil, nil)
	m := regexp.MustCompile(`href="(/[^"]+\.css)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no stylesheet in the page: %.400q", page)
	}
	asset := m[1]
	plain := fetch(t, s.APIURL()+asset, "identity")
	gzipped := fetch(t, s.APIURL()+asset, "gzip")
	if plain.encoding != "" || gzipped.encoding != "gzip" || plain.etag == gzipped.etag || plain.etag == "" {
		t.Fatalf("web function: identity %q %s, gzip %q %s; want two codings with their own ETags", plain.encoding, plain.etag, gzipped.encoding, gzipped.etag)
	}

	tests := []struct {
		name, base, acceptEncoding string
		want                       representation
	}{
		{"edge without Accept-Encoding", s.EdgeURL(), "", plain},
		{"edge identity", s.EdgeURL(), "identity", plain},
		{"edge gzip", s.EdgeURL(), "gzip", gzipped},
		{"Pushpin without Accept-Encoding", s.URL(), "", plain},
		{"Pushpin identity", s.URL(), "identity", plain},
		{"Pushpin gzip", s.URL(), "gzip", plain},
		{"Pushpin browser list", s.URL(), "gzip, deflate, br, zstd", plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fetch(t, tt.base+asset, tt.acceptEncoding)
			if got != tt.want {
				t.Errorf("got Content-Encoding %q, ETag %s, %d bytes; want %q, %s, %d bytes",
					got.encoding, got.etag, len(got.body), tt.want.encoding, tt.want.etag, len(tt.want.body))
			}
		})
	}
}
