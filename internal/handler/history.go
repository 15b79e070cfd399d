package handler

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// HistoryReader is what the history handler needs of the chat service.
type HistoryReader interface {
	Rooms() *chat.Rooms
	History(ctx context.Context, room string, before int64, limit int) (chat.MessagePage, error)
}

var _ HistoryReader = (*chat.Service)(nil)

type historyHandler struct {
	svc HistoryReader
	log *slog.Logger
}

// NewHistoryHandler returns the history function's handler: the room list
// and pages of a room's messages. Reads need no key.
func NewHistoryHandler(svc HistoryReader, opts ...Option) http.Handler {
	o := newOptions(opts)
	h := &historyHandler{svc: svc, log: o.log}
	return NewMux(o.log, h.endpoints())
}

// HistoryRoutes returns the routes of the history function.
func HistoryRoutes() []Route { return Routes((*historyHandler)(nil).endpoints()) }

func (h *historyHandler) endpoints() []Endpoint {
	return []Endpoint{
		{Route{http.MethodGet, "/rooms"}, h.rooms},
		{Route{http.MethodGet, "/room/{room}/messages"}, h.messages},
	}
}

// RoomList is the answer of GET /rooms.
type RoomList struct {
	Rooms   []chat.Room `json:"rooms"`
	Default string      `json:"default"`
}

func (h *historyHandler) rooms(w http.ResponseWriter, _ *http.Request) {
	rs := h.svc.Rooms()
	writeJSON(w, http.StatusOK, RoomList{Rooms: rs.All(), Default: rs.Default().Slug})
}

// Page is the answer of GET /room/{room}/messages.
type Page struct {
	Room chat.Room `json:"room"`
	// Messages are newest first.
	Messages []chat.Message `json:"messages"`
	// More reports whether older messages exist.
	More bool `json:"more"`
	// Before is the smallest id in the page (the cursor of the next, older
	// page), or null for an empty page.
	Before *int64 `json:"before"`
	// LastEventID is the room's last event id, on the newest page only: the
	// point to open the event stream from so nothing is missed.
	LastEventID *int64 `json:"lastEventId,omitempty"`
}

func (h *historyHandler) messages(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("room")
	room, err := h.svc.Rooms().Lookup(slug)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	q := r.URL.Query()
	before, err := queryInt(q.Get("before"), q.Get("lastId"))
	if err != nil || before < 0 {
		WriteError(w, r, h.log, fmt.Errorf("history before: %w", errBadQuery))
		return
	}
	limit, err := queryInt(q.Get("limit"))
	if err != nil || limit < 0 {
		WriteError(w, r, h.log, fmt.Errorf("history limit: %w", errBadQuery))
		return
	}
	page, err := h.svc.History(r.Context(), room.Slug, before, int(min(limit, chat.MaxPageSize)))
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	out := Page{Room: room, Messages: page.Messages, More: page.More}
	if out.Messages == nil {
		out.Messages = []chat.Message{}
	}
	if n := len(out.Messages); n > 0 {
		oldest := out.Messages[n-1].ID
		out.Before = &oldest
	}
	if before <= 0 {
		last := page.LastEventID
		out.LastEventID = &last
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt parses the first non-empty value as a decimal integer; all empty
// is 0.
func queryInt(values ...string) (int64, error) {
	for _, v := range values {
		if v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, nil
}
