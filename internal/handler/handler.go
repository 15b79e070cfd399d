// Package handler holds the net/http handlers of the send and history
// functions and what every function's handler shares: a ServeMux with
// exactly the routes of that function (SendRoutes, HistoryRoutes, and
// stream.Routes in the stream function's own package, which alone links
// GRIP), the one error → status mapping of the API, JSON errors for unknown
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

// Logger returns the logger opts set, slog.Default() when none does: what a
// handler built in another package (stream) logs to.
func Logger(opts ...Option) *slog.Logger { return newOptions(opts).log }

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

// Endpoint is one route and the function that serves it. Each handler type
// lists its endpoints once; that list registers the mux and, through
// Routes (SendRoutes, HistoryRoutes, stream.Routes), feeds the template check.
type Endpoint struct {
	// Route is the method and path pattern.
	Route Route
	// Handler serves it.
	Handler http.HandlerFunc
}

// Routes returns the routes of eps, in order.
func Routes(eps []Endpoint) []Route {
	out := make([]Route, len(eps))
	for i, ep := range eps {
		out[i] = ep.Route
	}
	return out
}

// NewMux registers the endpoints on a ServeMux that answers other methods on
// a known path with a JSON 405 and unknown paths with a JSON 404, and wraps
// it in the request log.
func NewMux(log *slog.Logger, eps []Endpoint) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, ep := range eps {
		mux.HandleFunc(ep.Route.Pattern(), ep.Handler)
		if _, seen := allowed[ep.Route.Path]; !seen {
			paths = append(paths, ep.Route.Path)
		}
		allowed[ep.Route.Path] = append(allowed[ep.Route.Path], ep.Route.Method)
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
			WriteError(w, r, log, errMethodNotAllowed)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, log, errRouteNotFound)
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
