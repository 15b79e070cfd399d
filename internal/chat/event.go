package chat

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Message is one chat message as stored and as sent to browsers.
type Message struct {
	// ID is the id of the event that created the message; ids are per room,
	// strictly increasing and never reused.
	ID int64 `json:"id"`
	// Room is the slug of the room the message was sent to.
	Room string `json:"room"`
	// User is the author's name as given by the edge in x-user.
	User string `json:"user"`
	// Text is the trimmed raw text the author typed (profanity masked when
	// the filter is on).
	Text string `json:"text"`
	// HTML is Text rendered as sanitised inline markdown.
	HTML string `json:"html"`
	// SentAt is when the message was stored, in UTC.
	SentAt time.Time `json:"sentAt"`
	// ClientID is the author's idempotency key (a UUID), if one was given.
	ClientID string `json:"clientId,omitempty"`
	// EditedAt is when the author last edited the message, nil if never.
	// Text and HTML are then the edited version.
	EditedAt *time.Time `json:"editedAt,omitempty"`
	// Reactions are the users who reacted, by emoji (one of
	// ReactionEmoji), each list sorted; empty emoji are left out.
	Reactions map[string][]string `json:"reactions,omitempty"`
}

// TimeFormat is how sentAt is written: RFC 3339 in UTC with exactly three
// fractional digits, so the strings sort as the times do.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the message with sentAt and editedAt in TimeFormat.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message // without the method, so no recursion
	var edited *string
	if m.EditedAt != nil {
		e := m.EditedAt.UTC().Format(TimeFormat)
		edited = &e
	}
	return json.Marshal(struct {
		plain
		SentAt   string  `json:"sentAt"`
		EditedAt *string `json:"editedAt,omitempty"`
	}{plain(m), m.SentAt.UTC().Format(TimeFormat), edited})
}

// LogValue keeps the message text out of logs.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", m.ID),
		slog.String("room", m.Room),
		slog.String("user", m.User),
		slog.Int("textLen", len(m.Text)),
	)
}

// EventType names the kind of change an event makes to a room. It is the
// SSE "event:" field.
type EventType string

// The event types. StreamReset is never stored: the stream function sends it
// when a client resumes from an id older than the retained history.
const (
	EventMessage     EventType = "message"
	EventDelete      EventType = "delete"
	EventRefresh     EventType = "refresh"
	EventStreamReset EventType = "stream-reset"
	// EventEdit says a message's author edited it; its data is the message
	// as edited.
	EventEdit EventType = "edit"
	// EventReaction says a user added or removed a reaction to a message.
	EventReaction EventType = "reaction"
)

// Event is one change to a room, with the room's next event id.
type Event struct {
	// ID is the per-room, strictly increasing event id (the SSE "id:").
	ID int64
	// Room is the room slug.
	Room string
	// Type says what changed.
	Type EventType
	// At is when the event was stored, in UTC.
	At time.Time
	// Message is set for EventMessage, and for EventEdit: the edited
	// message as it is now. It is nil for the tombstone of a deleted
	// message, and for an edit of a message deleted since: no frame is sent
	// for those.
	Message *Message
	// EditedID is the id of the edited message, for EventEdit.
	EditedID int64
	// Reaction is set for EventReaction.
	Reaction *Reaction
	// DeletedID is the id of the removed message, for EventDelete.
	DeletedID int64
	// User is the user whose messages were cleared, for an EventRefresh that
	// cleared one user's messages; empty when the whole room was cleared.
	User string
}

// deletePayload is the JSON data of a delete event.
type deletePayload struct {
	ID   int64  `json:"id"`
	Room string `json:"room"`
}

// refreshPayload is the JSON data of a refresh or stream-reset event.
type refreshPayload struct {
	Room string `json:"room"`
	User string `json:"user,omitempty"`
}

// Data returns the JSON that goes in the event's SSE "data:" field.
func (e Event) Data() ([]byte, error) {
	var v any
	switch e.Type {
	case EventMessage:
		if e.Message == nil {
			return nil, fmt.Errorf("chat: event %s/%d: message event without message", e.Room, e.ID)
		}
		v = e.Message
	case EventEdit:
		if e.Message == nil {
			return nil, fmt.Errorf("chat: event %s/%d: edit event without its message", e.Room, e.ID)
		}
		v = e.Message
	case EventReaction:
		if e.Reaction == nil {
			return nil, fmt.Errorf("chat: event %s/%d: reaction event without its reaction", e.Room, e.ID)
		}
		v = e.Reaction
	case EventDelete:
		v = deletePayload{ID: e.DeletedID, Room: e.Room}
	case EventRefresh, EventStreamReset:
		v = refreshPayload{Room: e.Room, User: e.User}
	default:
		return nil, fmt.Errorf("chat: event %s/%d: unknown type %q", e.Room, e.ID, e.Type)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("chat: encode event %s/%d: %w", e.Room, e.ID, err)
	}
	return b, nil
}

// LogValue keeps message text out of logs.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", e.ID),
		slog.String("room", e.Room),
		slog.String("type", string(e.Type)),
	)
}
