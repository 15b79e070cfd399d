package handler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/emf"
)

// Errors of the HTTP layer. Like the domain's, they reach the client only
// through statusOf.
var (
	errRouteNotFound        = errors.New("handler: no such route")
	errMethodNotAllowed     = errors.New("handler: method not allowed")
	errMissingAPIKey        = errors.New("handler: x-api-key missing")
	errInvalidAPIKey        = errors.New("handler: x-api-key not accepted")
	errMissingUser          = errors.New("handler: x-user missing")
	errBodyTooLarge         = errors.New("handler: request body too large")
	errUnsupportedMediaType = errors.New("handler: request body is not application/json")
	errMalformedBody        = errors.New("handler: request body is not a JSON object of the expected shape")
	errInvalidUTF8Body      = errors.New("handler: request body is not valid UTF-8")
	errBadMessageID         = errors.New("handler: message id is not a positive integer")
	errBadQuery             = errors.New("handler: query parameter is not a valid number")
	errMalformedReaction    = errors.New("handler: reaction body is not {\"emoji\", \"on\"}")
	errMalformedTyping      = errors.New("handler: typing body is not {\"typing\": true|false}")
)

// Errors of the stream handler (package stream), which translates the GRIP
// verifier's errors into them so that this package links no GRIP code.
var (
	// ErrNoGripProxy means a stream request carries no Grip-Sig: it did not
	// come through the GRIP proxy.
	ErrNoGripProxy = errors.New("handler: stream request without Grip-Sig")
	// ErrInvalidGripSig means a stream request's Grip-Sig did not verify.
	ErrInvalidGripSig = errors.New("handler: Grip-Sig is not valid")
)

// statusOf is the one mapping from an error to the HTTP status and the short
// message the client sees. Anything it does not know is a 500 whose message
// says nothing about the cause.
func statusOf(err error) (int, string) {
	switch {
	// Routing and authentication.
	case errors.Is(err, errRouteNotFound):
		return http.StatusNotFound, "Not Found"
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed, "Method Not Allowed"
	case errors.Is(err, errMissingAPIKey):
		return http.StatusUnauthorized, "API key is missing" // the original app's message
	case errors.Is(err, errInvalidAPIKey):
		return http.StatusForbidden, "Invalid API key" // the original app's message
	case errors.Is(err, errMissingUser):
		return http.StatusUnauthorized, "x-user is missing: sign in first"

	// Request shape.
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, "request body is too large"
	case errors.Is(err, errUnsupportedMediaType):
		return http.StatusUnsupportedMediaType, "Content-Type must be application/json"
	case errors.Is(err, errInvalidUTF8Body):
		return http.StatusBadRequest, "request body is not valid UTF-8"
	case errors.Is(err, errLoneSurrogate):
		return http.StatusBadRequest, `request body escapes a lone UTF-16 surrogate (\ud800-\udfff without its pair)`
	case errors.Is(err, errMalformedBody):
		return http.StatusBadRequest, `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`
	case errors.Is(err, errBadMessageID):
		return http.StatusBadRequest, "message id must be a positive integer"
	case errors.Is(err, ErrBadResumePoint):
		return http.StatusBadRequest, "Last-Event-ID, lastEventId and Grip-Last must be an event id: digits only, at most 19"
	case errors.Is(err, errBadQuery):
		return http.StatusBadRequest, "before, lastId and limit must be whole numbers"
	case errors.Is(err, errTypingOff):
		return http.StatusNotImplemented, "typing signals are not available"
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, "too many requests"

	// GRIP.
	case errors.Is(err, ErrNoGripProxy):
		return http.StatusNotAcceptable, "text/event-stream requires GRIP proxy" // the original app's message
	case errors.Is(err, ErrInvalidGripSig):
		return http.StatusNotImplemented, "GRIP proxy signature is not valid"

	// Domain.
	case errors.Is(err, chat.ErrRoomNotFound):
		return http.StatusNotFound, "room not found"
	case errors.Is(err, chat.ErrMessageNotFound):
		return http.StatusNotFound, "message not found"
	case errors.Is(err, chat.ErrNotAuthor):
		return http.StatusForbidden, "only the author may edit a message"
	case errors.Is(err, chat.ErrForbidden):
		return http.StatusForbidden, "only the author may delete a message"
	case errors.Is(err, chat.ErrMessageDeleted):
		return http.StatusConflict, "the message was deleted"
	case errors.Is(err, chat.ErrUnknownEmoji):
		return http.StatusBadRequest, "emoji must be one of " + strings.Join(chat.ReactionEmoji(), " ")
	case errors.Is(err, errMalformedReaction):
		return http.StatusBadRequest, `body must be a JSON object {"emoji": "👍", "on": true}`
	case errors.Is(err, errMalformedTyping):
		return http.StatusBadRequest, `body must be a JSON object {"typing": true}`
	case errors.Is(err, chat.ErrEmptyText):
		return http.StatusBadRequest, "message text is empty"
	case errors.Is(err, chat.ErrTextTooLong):
		return http.StatusRequestEntityTooLarge, "message text is longer than 500 characters"
	case errors.Is(err, chat.ErrInvalidText):
		return http.StatusBadRequest, "message text holds characters that are not allowed"
	case errors.Is(err, chat.ErrInvalidUser):
		return http.StatusBadRequest, "x-user must be 1 to 64 characters of text"
	case errors.Is(err, chat.ErrInvalidClientID):
		return http.StatusBadRequest, "clientId must be a UUID"
	case errors.Is(err, chat.ErrClientIDTaken):
		return http.StatusConflict, "clientId is already used by another user's message"
	case errors.Is(err, chat.ErrConflict):
		return http.StatusServiceUnavailable, "too many concurrent writers; retry"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "the request timed out"
	default:
		return http.StatusInternalServerError, "internal error"
	}
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// WriteError answers err as JSON, with the status and message of the one
// error mapping of the API. Client errors are logged at debug level, server
// errors at error level with the full cause, which the client never sees.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if rl, ok := errors.AsType[*rateLimitedError](err); ok {
		log.DebugContext(r.Context(), "request failed", slog.Int("status", http.StatusTooManyRequests), slog.String("err", err.Error()))
		writeRateLimited(w, rl)
		return
	}
	status, msg := statusOf(err)
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	args := []any{slog.Int("status", status), slog.String("err", err.Error())}
	if errors.Is(err, chat.ErrConflict) {
		// Counted (EMF) for the id-race alarm: a few are expected under a
		// burst on one room, a steady stream means a hot room.
		args = append(args, emf.Count(time.Now(), emf.IDRaceConflicts)...)
	}
	log.Log(r.Context(), level, "request failed", args...)
	if errors.Is(err, chat.ErrConflict) {
		// The room was busy, not broken: a resend with the same clientId
		// is safe and likely to win; the page does it on this header.
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: msg})
}

// writeJSON answers v as JSON with the status, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
