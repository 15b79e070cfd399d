package chat

import "context"

// Store keeps every room's event log and its current messages. The DynamoDB
// adapter implements it; tests use an in-memory fake.
//
// Every method that changes a room appends exactly one event with the room's
// next id (last id + 1), atomically with the change itself, so ids have no
// gaps and no duplicates however many writers race.
type Store interface {
	// AppendMessage stores m (its ID and SentAt are assigned by the store)
	// as the room's next event. If m.ClientID is not empty and a message with
	// that ClientID already exists in the room, it stores nothing and returns
	// the existing message's event with created == false.
	AppendMessage(ctx context.Context, m Message) (ev Event, created bool, err error)
	// DeleteMessage removes message id from room if user wrote it, appending
	// a delete event. ErrMessageNotFound if there is no such live message,
	// ErrForbidden if another user wrote it.
	DeleteMessage(ctx context.Context, room string, id int64, user string) (Event, error)
	// EditMessage replaces the text and HTML of message e.ID of e.Room if
	// e.User wrote it, stamps its EditedAt and appends an edit event
	// carrying the message as edited. If e.ClientID is not empty and
	// already names an edit of that message by e.User, it stores nothing
	// and returns an edit event with the message as it is, created ==
	// false. ErrMessageNotFound if there is no such message, ErrNotAuthor if
	// another user wrote it, ErrMessageDeleted if it was deleted,
	// ErrClientIDTaken if the clientId names another write.
	EditMessage(ctx context.Context, e Edit) (ev Event, created bool, err error)
	// React adds (r.On) or removes r.User's r.Emoji reaction to message
	// r.MessageID of r.Room and appends a reaction event, unless the
	// reaction is already so: then it stores nothing and changed is false.
	// ErrMessageNotFound if there is no such message, ErrMessageDeleted if
	// it was deleted.
	React(ctx context.Context, r Reaction) (ev Event, changed bool, err error)
	// ClearRoom removes every message of the room, or only user's (and
	// user's reactions to the others) when user is not empty, and appends
	// a refresh event.
	ClearRoom(ctx context.Context, room, user string) (Event, error)
	// UserRooms returns the slugs of the rooms where user has live messages,
	// without scanning.
	UserRooms(ctx context.Context, user string) ([]string, error)
	// Messages returns a page of up to limit live messages of the room with
	// id < before (before <= 0: the newest), newest first.
	Messages(ctx context.Context, room string, before int64, limit int) (MessagePage, error)
	// LastEventID returns the room's last event id (0 for a room with no
	// events) with one strongly consistent read.
	LastEventID(ctx context.Context, room string) (int64, error)
	// EventsAfter returns up to limit events of the room with id > after, in
	// id order, and the room's last event id (0 for a room with no events).
	// A message deleted by its author leaves a tombstone: its event comes
	// back with Type EventMessage and Message nil, so ids stay contiguous;
	// callers send nothing for it. An edit event carries the edited message
	// as it is when read (the latest edit), or nil once it is deleted. A gap between after and the first
	// returned id means the events in between are gone (expired by TTL or
	// removed by an admin clear).
	EventsAfter(ctx context.Context, room string, after int64, limit int) (evs []Event, lastID int64, err error)
}

// Publisher fans one SSE frame out to every connection held on a GRIP
// channel. id and prevID make the publish reliable: the proxy compares prevID
// with the last id each connection saw and fetches what is missing.
type Publisher interface {
	Publish(ctx context.Context, channel, id, prevID string, frame []byte) error
}

// MessagePage is one page of a room's history.
type MessagePage struct {
	// Messages are newest first.
	Messages []Message
	// More reports whether older live messages exist.
	More bool
	// LastEventID is the room's last event id when the page was read. It is
	// set only for the newest page (before <= 0), so a client can open its
	// event stream from exactly there and miss nothing.
	LastEventID int64
}
