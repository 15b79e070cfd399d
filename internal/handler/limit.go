package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// Limiter decides whether a user may make one more write of a kind
// (limit.ActionSend, …). *limit.Limiter implements it on DynamoDB;
// limittest.Limiter in memory.
type Limiter interface {
	Allow(ctx context.Context, action, user string) (limit.Decision, error)
}

var _ Limiter = (*limit.Limiter)(nil)

// WithLimiter applies per-user rate limits to the writes of the handler: a
// write over its limit is answered 429 with Retry-After and changes
// nothing. Without it (the default) writes are not limited.
func WithLimiter(l Limiter) Option { return func(o *options) { o.limiter = l } }

// errRateLimited is wrapped by a *rateLimitedError.
var errRateLimited = errors.New("handler: rate limit reached")

// rateLimitedError is a write refused by the limiter: writeError answers it
// 429 with Retry-After.
type rateLimitedError struct {
	action string
	wait   limit.Decision
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("handler: %s: rate limit reached, retry after %s", e.action, e.wait.RetryAfter)
}

func (e *rateLimitedError) Unwrap() error { return errRateLimited }

// rateLimitBody is the JSON of a 429: the usual error and the wait in
// seconds, so a page can say how long.
type rateLimitBody struct {
	Error      string `json:"error"`
	RetryAfter int    `json:"retryAfter"`
}

// allow asks the limiter for one more action of user and answers 429 (with
// Retry-After) when the limit is reached, returning false. A limiter that
// fails lets the request through (fail open): the write itself then meets
// the same DynamoDB, and a limiter outage must not silence the chat.
func allow(w http.ResponseWriter, r *http.Request, log *slog.Logger, lim Limiter, action, user string) bool {
	if lim == nil {
		return true
	}
	d, err := lim.Allow(r.Context(), action, user)
	if err != nil {
		log.WarnContext(r.Context(), "rate limiter failed; request let through", slog.String("action", action), slog.String("err", err.Error()))
		return true
	}
	if d.Allowed {
		return true
	}
	WriteError(w, r, log, &rateLimitedError{action: action, wait: d})
	return false
}

// writeRateLimited answers a refused write: 429, Retry-After in whole
// seconds, and a message that says what was limited and for how long.
func writeRateLimited(w http.ResponseWriter, e *rateLimitedError) {
	secs := e.wait.RetryAfterSeconds()
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, rateLimitBody{
		Error:      fmt.Sprintf("too many %s: try again in %s", limitNoun(e.action), waitText(secs)),
		RetryAfter: secs,
	})
}

// waitText says a wait in words: "1 second", "30 seconds", "2 minutes".
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return fmt.Sprintf("%d seconds", secs)
	default:
		return fmt.Sprintf("%d minutes", (secs+59)/60)
	}
}

// limitNoun names an action in a 429's message.
func limitNoun(action string) string {
	switch action {
	case limit.ActionSend:
		return "messages"
	case limit.ActionEdit:
		return "edits"
	case limit.ActionReact:
		return "reactions"
	case limit.ActionTyping:
		return "typing signals"
	default:
		return "requests"
	}
}
