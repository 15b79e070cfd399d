// Package handler holds the net/http handlers of the send, history and stream
// functions. Each function gets one handler: a ServeMux with exactly the
// routes of that function (SendRoutes, HistoryRoutes, StreamRoutes), the one
// error → status mapping of the API (statusOf), JSON errors for unknown
// routes and methods, and one structured log line per request.
//
// The handlers run behind aws-lambda-go-api-proxy in Lambda and behind the
// local API Gateway emulator, so they keep two of the adapter's habits in
// mind: a response must set its status explicitly, and request headers other
// than a few singletons arrive split on commas.
package handler

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Option configures a handler.
type Option func(*options)

type options struct {
	log     *slog.Logger
	limiter Limiter
	typer   Typer
}

// WithLogger sets the logger of request and error lines (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

func newOptions(opts []Option) options {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Route is one method and path pattern served by a function, written as both
// Go's ServeMux and API Gateway's HttpApi events write it ("/room/{room}").
type Route struct {
	// Method is the upper-case HTTP method.
	Method string
	// Path is the path pattern; {name} matches one segment.
	Path string
}

// Pattern returns the ServeMux pattern of the route ("GET /rooms").
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// endpoint is one route and the method that serves it. Each handler type
// lists its endpoints once; that list registers the mux and, through
// SendRoutes, HistoryRoutes and StreamRoutes, feeds the template check.
type endpoint struct {
	route   Route
	handler http.HandlerFunc
}

func routesOf(eps []endpoint) []Route {
	out := make([]Route, len(eps))
	for i, ep := range eps {
		out[i] = ep.route
	}
	return out
}

// newMux registers the endpoints on a ServeMux that answers other methods on
// a known path with a JSON 405 and unknown paths with a JSON 404, and wraps
// it in the request log.
func newMux(log *slog.Logger, eps []endpoint) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, ep := range eps {
		mux.HandleFunc(ep.route.Pattern(), ep.handler)
		if _, seen := allowed[ep.route.Path]; !seen {
			paths = append(paths, ep.route.Path)
		}
		allowed[ep.route.Path] = append(allowed[ep.route.Path], ep.route.Method)
	}
	// A pattern without a method is less specific than one with, so these
	// only see the methods the path does not serve.
	for _, p := range paths {
		allow := allowed[p]
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		allowHeader := strings.Join(allow, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowHeader)
			writeError(w, r, log, errMethodNotAllowed)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, errRouteNotFound)
	})
	return logRequests(log, mux)
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests writes one line per request: method, route pattern, status and
// duration. The request id of the Lambda context rides along when the
// logger is lambdacontext's.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// ServeMux sets r.Pattern on the request it was given.
		log.InfoContext(r.Context(), "request",
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
		)
	})
}
