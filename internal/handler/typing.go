package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// Typer publishes typing signals: what the send function needs of
// chat.Live.
type Typer interface {
	Typing(ctx context.Context, room, user string, typing bool) error
}

var _ Typer = (*chat.Live)(nil)

// WithTyping serves POST /room/{room}/typing with t. Without it that route
// answers 501.
func WithTyping(t Typer) Option { return func(o *options) { o.typer = t } }

// MaxTypingBodyBytes is the largest typing signal body read.
const MaxTypingBodyBytes = 1 << 10

// errTypingOff answers a typing signal to a handler built without WithTyping.
var errTypingOff = errors.New("handler: typing signals are not configured")

// typingBody is the body of a typing signal.
type typingBody struct {
	Typing *bool `json:"typing"`
}

// typing publishes a typing signal on the room's live channel: authorised
// like a send (x-api-key, x-user), limited per user (limit.ActionTyping),
// stored nowhere. 204 when published.
func (h *sendHandler) typing(w http.ResponseWriter, r *http.Request) {
	if h.typer == nil {
		WriteError(w, r, h.log, errTypingOff)
		return
	}
	u, err := h.author(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	typing, err := readTypingBody(w, r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	if !allow(w, r, h.log, h.limit, limit.ActionTyping, u) {
		return
	}
	if err := h.typer.Typing(r.Context(), r.PathValue("room"), u, typing); err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	noContent(w)
}

// readTypingBody reads {"typing": true|false} as strictly as a send's body:
// application/json, small, valid UTF-8, no lone surrogate escape, one
// object with a boolean typing.
func readTypingBody(w http.ResponseWriter, r *http.Request) (bool, error) {
	b, err := readJSONBodyMax(w, r, MaxTypingBodyBytes)
	if err != nil {
		return false, fmt.Errorf("typing: %w", err)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false, fmt.Errorf("decode typing body: not an object: %w", errMalformedTyping)
	}
	var body typingBody
	if err := json.Unmarshal(b, &body); err != nil {
		return false, fmt.Errorf("decode typing body: %w: %w", errMalformedTyping, err)
	}
	if body.Typing == nil {
		return false, fmt.Errorf("decode typing body: no typing field: %w", errMalformedTyping)
	}
	return *body.Typing, nil
}
