package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// MaxBodyBytes is the largest request body the send function reads; a
// bigger one is answered 413 without being parsed. A 500-character message
// is at most 2 KiB of UTF-8, or 6 KiB as JSON \u escapes.
const MaxBodyBytes = 16 << 10

// Sender is what the send handler needs of the chat service.
type Sender interface {
	Send(ctx context.Context, in chat.SendInput) (chat.Message, bool, error)
	Delete(ctx context.Context, room string, id int64, user string) error
	Edit(ctx context.Context, in chat.EditInput) (chat.Message, bool, error)
	React(ctx context.Context, in chat.Reaction) (chat.Reaction, bool, error)
	ClearRoom(ctx context.Context, room, user string) error
	ClearUser(ctx context.Context, user string) ([]string, error)
}

var _ Sender = (*chat.Service)(nil)

type sendHandler struct {
	svc   Sender
	auth  Auth
	log   *slog.Logger
	limit Limiter
	typer Typer
}

// NewSendHandler returns the send function's handler: post and delete
// messages (x-api-key in auth.APIKeys and x-user), and the admin clears
// (x-api-key = auth.AdminKey).
func NewSendHandler(svc Sender, auth Auth, opts ...Option) http.Handler {
	o := newOptions(opts)
	h := &sendHandler{svc: svc, auth: auth, log: o.log, limit: o.limiter, typer: o.typer}
	return NewMux(o.log, h.endpoints())
}

// SendRoutes returns the routes of the send function.
func SendRoutes() []Route { return Routes((*sendHandler)(nil).endpoints()) }

func (h *sendHandler) endpoints() []Endpoint {
	return []Endpoint{
		{Route{http.MethodPost, "/room/{room}/messages"}, h.post},
		{Route{http.MethodDelete, "/room/{room}/messages/{id}"}, h.delete},
		{Route{http.MethodPatch, "/room/{room}/messages/{id}"}, h.edit},
		{Route{http.MethodPut, "/room/{room}/messages/{id}/reactions"}, h.react},
		{Route{http.MethodDelete, "/admin/room/{room}"}, h.clearRoom},
		{Route{http.MethodDelete, "/admin/room/{room}/{user}"}, h.clearRoomUser},
		{Route{http.MethodDelete, "/admin/users/{user}"}, h.clearUser},
		{Route{http.MethodPost, "/room/{room}/typing"}, h.typing},
	}
}

// sendBody is the body of a send: {"text", "clientId"}, or the original
// app's {"message"}. Unknown fields are ignored.
type sendBody struct {
	Text     *string `json:"text"`
	Message  *string `json:"message"`
	ClientID string  `json:"clientId"`
}

// readSendBody reads and decodes the body of a send strictly: declared as
// application/json, at most MaxBodyBytes, valid UTF-8 (encoding/json would
// silently turn invalid bytes into U+FFFD), one JSON object of the right
// types and nothing after it.
//
// The media type matters for more than tidiness: a cross-site HTML form can
// POST text/plain without a CORS preflight, but not application/json, so
// requiring it keeps other sites from posting with a visitor's identity.
func readSendBody(w http.ResponseWriter, r *http.Request) (text, clientID string, err error) {
	b, err := readJSONBody(w, r)
	if err != nil {
		return "", "", err
	}
	if !isObject(b) {
		return "", "", fmt.Errorf("decode send body: not an object: %w", errMalformedBody)
	}
	var body sendBody
	if err := json.Unmarshal(b, &body); err != nil {
		return "", "", fmt.Errorf("decode send body: %w: %w", errMalformedBody, err)
	}
	switch {
	case body.Text != nil:
		text = *body.Text
	case body.Message != nil:
		text = *body.Message
	}
	return text, body.ClientID, nil
}

// readJSONBody reads a write's body: declared as application/json, at most
// MaxBodyBytes, valid UTF-8 (encoding/json would silently turn invalid
// bytes into U+FFFD).
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readJSONBodyMax(w, r, MaxBodyBytes)
}

// readJSONBodyMax is readJSONBody with a body of at most maxBytes.
func readJSONBodyMax(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("read body: content type %q: %w", r.Header.Get("Content-Type"), errUnsupportedMediaType)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, fmt.Errorf("read body: %w", errBodyTooLarge)
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("read body: %w", errInvalidUTF8Body)
	}
	if findLoneSurrogate(b) {
		return nil, fmt.Errorf("read body: %w", errLoneSurrogate)
	}
	return b, nil
}

// author checks the user routes' x-api-key and returns x-user.
func (h *sendHandler) author(r *http.Request) (string, error) {
	if err := checkKey(r, h.auth.APIKeys...); err != nil {
		return "", err
	}
	return user(r)
}

func (h *sendHandler) post(w http.ResponseWriter, r *http.Request) {
	u, err := h.author(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	text, clientID, err := readSendBody(w, r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	if !allow(w, r, h.log, h.limit, limit.ActionSend, u) {
		return
	}
	m, created, err := h.svc.Send(r.Context(), chat.SendInput{Room: r.PathValue("room"), User: u, Text: text, ClientID: clientID})
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	status := http.StatusOK // a repeated clientId: the first message
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, m)
}

func (h *sendHandler) delete(w http.ResponseWriter, r *http.Request) {
	u, err := h.author(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	id, err := ParseEventID(r.PathValue("id"))
	if err != nil || id <= 0 {
		WriteError(w, r, h.log, errBadMessageID)
		return
	}
	if err := h.svc.Delete(r.Context(), r.PathValue("room"), id, u); err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	noContent(w)
}

func (h *sendHandler) clearRoom(w http.ResponseWriter, r *http.Request) {
	h.admin(w, r, func(ctx context.Context) error {
		return h.svc.ClearRoom(ctx, r.PathValue("room"), "")
	})
}

func (h *sendHandler) clearRoomUser(w http.ResponseWriter, r *http.Request) {
	h.admin(w, r, func(ctx context.Context) error {
		return h.svc.ClearRoom(ctx, r.PathValue("room"), r.PathValue("user"))
	})
}

func (h *sendHandler) clearUser(w http.ResponseWriter, r *http.Request) {
	h.admin(w, r, func(ctx context.Context) error {
		rooms, err := h.svc.ClearUser(ctx, r.PathValue("user"))
		if err == nil {
			h.log.InfoContext(ctx, "cleared user", slog.Int("rooms", len(rooms)))
		}
		return err
	})
}

// admin checks the admin key, runs do and answers 204.
func (h *sendHandler) admin(w http.ResponseWriter, r *http.Request, do func(context.Context) error) {
	if err := checkKey(r, h.auth.AdminKey); err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	if err := do(r.Context()); err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	noContent(w)
}

// noContent answers 204. The status is written explicitly: the Lambda proxy
// adapter fails a response whose handler never set one.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
