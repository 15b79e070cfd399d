package apigw

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// MaxBodyBytes is an HTTP API's request payload limit (10 MB).
const MaxBodyBytes = 10 << 20

// IntegrationTimeout is an HTTP API's maximum integration timeout.
const IntegrationTimeout = 30 * time.Second

// LocalAPIID is the apiId of the emulated API.
const LocalAPIID = "local"

// errIntegrationTimeout means the function did not answer within the
// integration timeout: API Gateway answers 503.
var errIntegrationTimeout = errors.New("apigw: integration timeout")

// Server serves a template's HttpApi routes, invoking one Function per
// logical id. It implements http.Handler.
type Server struct {
	router    *router
	functions map[string]Function
	timeouts  map[string]time.Duration
	log       *slog.Logger
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of the access log and invocation errors.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// NewServer returns a Server for t's routes. fns must hold a Function for
// every function that has a route.
func NewServer(t *Template, fns map[string]Function, opts ...Option) (*Server, error) {
	rt, err := newRouter(t.Routes)
	if err != nil {
		return nil, err
	}
	s := &Server{
		router:    rt,
		functions: fns,
		timeouts:  map[string]time.Duration{},
		log:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(s)
	}
	for _, r := range t.Routes {
		if _, ok := fns[r.Function]; !ok {
			return nil, fmt.Errorf("apigw: route %q: no function %s", r.Key(), r.Function)
		}
	}
	for id, fn := range t.Functions {
		s.timeouts[id] = fn.Timeout
	}
	return s, nil
}

// ServeHTTP routes r, invokes the function and writes its response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	route, params, ok := s.router.match(r.Method, r.URL.EscapedPath())
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not Found")
		s.access(r, "", "", http.StatusNotFound, start)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			s.access(r, route.Key(), route.Function, http.StatusRequestEntityTooLarge, start)
			return
		}
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		s.access(r, route.Key(), route.Function, http.StatusBadRequest, start)
		return
	}
	ev := NewEvent(r, route, params, body, RequestMeta{
		RequestID: requestID,
		Time:      start,
		AccountID: LocalAccountID,
		APIID:     LocalAPIID,
		TraceID:   newTraceID(start),
	})
	resp, err := s.invoke(r.Context(), route.Function, ev)
	if err != nil {
		status, msg := http.StatusInternalServerError, "Internal Server Error"
		if errors.Is(err, errIntegrationTimeout) {
			status, msg = http.StatusServiceUnavailable, "Service Unavailable"
		}
		s.log.ErrorContext(r.Context(), "invoke", "function", route.Function, "route", route.Key(), "requestId", requestID, "err", err)
		writeMessage(w, status, msg)
		s.access(r, route.Key(), route.Function, status, start)
		return
	}
	if err := WriteResponse(w, resp); err != nil {
		s.log.ErrorContext(r.Context(), "write response", "function", route.Function, "route", route.Key(), "requestId", requestID, "err", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		s.access(r, route.Key(), route.Function, http.StatusInternalServerError, start)
		return
	}
	s.access(r, route.Key(), route.Function, resp.StatusCode, start)
}

// invoke calls the function with a deadline of its timeout (within the
// integration timeout) and a Lambda context, as the runtime would give it.
// A function that answers after its timeout has failed, as in Lambda.
func (s *Server) invoke(ctx context.Context, id string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	timeout := s.timeouts[id]
	if timeout <= 0 || timeout > IntegrationTimeout {
		timeout = IntegrationTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newUUID(),
		InvokedFunctionArn: "arn:aws:lambda:" + LocalRegion + ":" + LocalAccountID + ":function:" + id,
	})
	resp, err := s.functions[id](ctx, ev)
	if ctx.Err() != nil && timeout == IntegrationTimeout {
		return resp, fmt.Errorf("invoke %s: no answer in %s: %w", id, timeout, errIntegrationTimeout)
	}
	if ctx.Err() != nil {
		return resp, fmt.Errorf("invoke %s: task timed out after %s: %w", id, timeout, ErrFunction)
	}
	if err != nil {
		return resp, fmt.Errorf("invoke %s: %w", id, err)
	}
	return resp, nil
}

func (s *Server) access(r *http.Request, routeKey, fn string, status int, start time.Time) {
	s.log.InfoContext(r.Context(), "request",
		"method", r.Method, "path", r.URL.Path, "route", routeKey, "function", fn,
		"status", status, "ms", time.Since(start).Milliseconds())
}

// WriteResponse writes a function's payload 2.0 response as API Gateway
// does: headers (comma-joined values sent as one header), multiValueHeaders
// for names not in headers, each cookie as a Set-Cookie header, and the body
// base64-decoded when isBase64Encoded. A zero status code is 200.
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("apigw: decode base64 body: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		if _, ok := resp.Headers[k]; ok {
			continue
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if _, ok := h["Content-Type"]; !ok {
		// API Gateway does not sniff a content type; neither may net/http.
		h["Content-Type"] = nil
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	// A failed write means the client went away; nothing more can be sent.
	_, _ = w.Write(body)
	return nil
}

// writeMessage writes API Gateway's own JSON error, e.g. {"message":"Not Found"}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"message":%q}`, msg)
}

// newRequestID returns an id shaped like API Gateway's ("JKJaXmPLvHcESHA=").
func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newTraceID returns an X-Ray trace header value.
func newTraceID(t time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Root=1-%08x-%s", t.Unix(), hex.EncodeToString(b))
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
