package edge

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// NewProxy returns the reverse proxy the stand-in hands requests to: it
// forwards to target keeping the Host the client used (API Gateway sees the
// browser's Host) and flushes every write at once (SSE).
//
// Content coding passes through untouched, as at the real edge: the origin
// sees the client's Accept-Encoding (or none), and the client gets the
// origin's Content-Encoding, body and ETag as they are. The transport has
// compression disabled for that: Go's default transport, given a request
// without Accept-Encoding, adds its own "gzip" and transparently
// decompresses the answer, so a client that asked for nothing got the
// identity body under the ETag of the gzip representation.
func NewProxy(target *url.URL) *httputil.ReverseProxy {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableCompression = true
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport:     transport,
		FlushInterval: -1,
	}
}
