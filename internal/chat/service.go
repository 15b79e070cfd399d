package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/emf"
	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// Page sizes of History.
const (
	// DefaultPageSize is the page size when the client gives none.
	DefaultPageSize = 20
	// MaxPageSize is the largest page a client may ask for.
	MaxPageSize = 100
	// ResumeLimit is the most events a listener's own request (a connect
	// or a reconnect with Last-Event-ID) is answered with; the proxy
	// follows the next link for the rest.
	ResumeLimit = 200
	// CatchUpLimit is the most events one next-link answer carries. Next
	// links are fetched by the proxy, which streams their body through, so
	// they page a long catch-up in a few large answers.
	CatchUpLimit = 1000
	// MaxCatchUp is how far behind the room a listener may be and still be
	// sent every event it missed; further behind, it gets a stream-reset
	// (reload history, then follow live). At CatchUpLimit events per
	// answer and about a second between answers, this bounds a catch-up
	// to a few seconds.
	MaxCatchUp = 4000
)

// Answer sizes of Replay.FramesWithin.
const (
	// ResumeMaxBytes bounds the body of the answer to a listener's own
	// request: Pushpin refuses a first GRIP answer larger than 100,000
	// bytes.
	ResumeMaxBytes = 64 << 10
	// CatchUpMaxBytes bounds a next-link answer's body, well under
	// Lambda's 6 MB response limit.
	CatchUpMaxBytes = 1 << 20
)

// Service is the chat's use cases: send, delete, clear, history and resume.
// It validates input, keeps every change in the Store first and publishes it
// second, so a publish failure never loses an acknowledged change: the
// proxy's next-link request recovers it from the store.
type Service struct {
	store  Store
	pub    Publisher
	rooms  *Rooms
	render Renderer
	log    *slog.Logger
}

// Renderer turns checked message text into what a message stores: the text
// as shown (profanity masked when the deployment filters it) and that text
// as sanitised HTML. internal/render implements it; only the send function
// links it, so history and stream carry no markdown or profanity code.
type Renderer interface {
	Render(text string) (shown, html string, err error)
}

// ErrNoRenderer is returned by Send and Edit on a Service built without
// WithRenderer.
var ErrNoRenderer = errors.New("chat: sending or editing needs a renderer (WithRenderer)")

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default(); nil keeps it).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// WithRenderer sets what Send renders message text with. A Service that
// only reads (history, stream) needs none.
func WithRenderer(r Renderer) Option { return func(s *Service) { s.render = r } }

// NewService builds a Service on a store, a publisher and the room list.
func NewService(store Store, pub Publisher, rooms *Rooms, opts ...Option) (*Service, error) {
	if store == nil || rooms == nil {
		return nil, errors.New("chat: new service: store and rooms are required")
	}
	s := &Service{store: store, pub: pub, rooms: rooms, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Rooms returns the configured rooms.
func (s *Service) Rooms() *Rooms { return s.rooms }

// SendInput is what a user sends.
type SendInput struct {
	// Room is the slug of the room to send to.
	Room string
	// User is the author as the edge named it in x-user.
	User string
	// Text is the raw text; Send trims, checks and renders it.
	Text string
	// ClientID is the optional idempotency key (a UUID).
	ClientID string
}

// Send validates and stores a message, then publishes it. A repeated
// ClientID returns the first message with created == false and publishes
// nothing. A failed publish is logged, not returned: the message is stored,
// and the proxy recovers it through the stream's next link.
func (s *Service) Send(ctx context.Context, in SendInput) (Message, bool, error) {
	room, err := s.rooms.Lookup(in.Room)
	if err != nil {
		return Message{}, false, fmt.Errorf("send: %w", err)
	}
	user, err := NormalizeUser(in.User)
	if err != nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, err)
	}
	text, err := NormalizeText(in.Text)
	if err != nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, err)
	}
	clientID, err := NormalizeClientID(in.ClientID)
	if err != nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, err)
	}
	if s.render == nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, ErrNoRenderer)
	}
	text, html, err := s.render.Render(text)
	if err != nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, err)
	}
	ev, created, err := s.store.AppendMessage(ctx, Message{Room: room.Slug, User: user, Text: text, HTML: html, ClientID: clientID})
	if err != nil {
		return Message{}, false, fmt.Errorf("send to %s: %w", room.Slug, err)
	}
	if ev.Message == nil {
		return Message{}, false, fmt.Errorf("send to %s: store returned event %d without its message", room.Slug, ev.ID)
	}
	if !created && ev.Message.User != user {
		// A clientId is public (it is in every message's JSON): replaying
		// someone else's must not return their message as the caller's.
		return Message{}, false, fmt.Errorf("send to %s: clientId of message %d: %w", room.Slug, ev.ID, ErrClientIDTaken)
	}
	if created {
		s.publish(ctx, ev)
	}
	return *ev.Message, created, nil
}

// Delete removes message id from room if user wrote it, and publishes a
// delete event.
func (s *Service) Delete(ctx context.Context, room string, id int64, user string) error {
	r, err := s.rooms.Lookup(room)
	if err != nil {
		return fmt.Errorf("delete message %d: %w", id, err)
	}
	user, err = NormalizeUser(user)
	if err != nil {
		return fmt.Errorf("delete message %s/%d: %w", r.Slug, id, err)
	}
	if id <= 0 {
		return fmt.Errorf("delete message %s/%d: %w", r.Slug, id, ErrMessageNotFound)
	}
	ev, err := s.store.DeleteMessage(ctx, r.Slug, id, user)
	if err != nil {
		return fmt.Errorf("delete message %s/%d: %w", r.Slug, id, err)
	}
	s.publish(ctx, ev)
	return nil
}

// ClearRoom removes the room's messages, or only user's when user is not
// empty, and publishes a refresh event.
func (s *Service) ClearRoom(ctx context.Context, room, user string) error {
	r, err := s.rooms.Lookup(room)
	if err != nil {
		return fmt.Errorf("clear room: %w", err)
	}
	if user != "" {
		if user, err = NormalizeUser(user); err != nil {
			return fmt.Errorf("clear room %s: %w", r.Slug, err)
		}
	}
	ev, err := s.store.ClearRoom(ctx, r.Slug, user)
	if err != nil {
		return fmt.Errorf("clear room %s: %w", r.Slug, err)
	}
	s.publish(ctx, ev)
	return nil
}

// ClearUser removes user's messages from every room and publishes a refresh
// to each room it touched, which it returns.
func (s *Service) ClearUser(ctx context.Context, user string) ([]string, error) {
	user, err := NormalizeUser(user)
	if err != nil {
		return nil, fmt.Errorf("clear user: %w", err)
	}
	rooms, err := s.store.UserRooms(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("clear user: %w", err)
	}
	cleared := make([]string, 0, len(rooms))
	for _, room := range rooms {
		ev, err := s.store.ClearRoom(ctx, room, user)
		if err != nil {
			return cleared, fmt.Errorf("clear user in room %s: %w", room, err)
		}
		s.publish(ctx, ev)
		cleared = append(cleared, room)
	}
	return cleared, nil
}

// History returns a page of the room's messages older than before (before
// <= 0: the newest page), newest first. limit is clamped to
// [1, MaxPageSize], with DefaultPageSize for limit <= 0.
func (s *Service) History(ctx context.Context, room string, before int64, limit int) (MessagePage, error) {
	r, err := s.rooms.Lookup(room)
	if err != nil {
		return MessagePage{}, fmt.Errorf("history: %w", err)
	}
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	page, err := s.store.Messages(ctx, r.Slug, before, limit)
	if err != nil {
		return MessagePage{}, fmt.Errorf("history of %s: %w", r.Slug, err)
	}
	return page, nil
}

// Replay is what a stream answer carries: the events to send before live
// ones, and the id the proxy should expect the next publish to follow.
type Replay struct {
	// Events are the events to send, in order. When the resume point is
	// older than the retained history, or more than MaxCatchUp events
	// behind, it is one EventStreamReset.
	Events []Event
	// LastID is the id of the last event sent, or the room's last event id
	// when none is sent: the hold's prev-id.
	LastID int64
	// More is true when the room has events after LastID that the replay
	// does not carry: the listener is catching up.
	More bool
}

// Resume returns what a listener that saw every event up to after has
// missed, at most ResumeLimit events. after < 0 means the listener has no
// resume point: nothing is replayed and LastID is the room's last event id.
func (s *Service) Resume(ctx context.Context, room string, after int64) (Replay, error) {
	return s.ResumeUpTo(ctx, room, after, ResumeLimit)
}

// ResumeUpTo is Resume with at most limit events (at least 1).
func (s *Service) ResumeUpTo(ctx context.Context, room string, after int64, limit int) (Replay, error) {
	limit = max(limit, 1)
	r, err := s.rooms.Lookup(room)
	if err != nil {
		return Replay{}, fmt.Errorf("resume: %w", err)
	}
	if after < 0 {
		last, err := s.store.LastEventID(ctx, r.Slug)
		if err != nil {
			return Replay{}, fmt.Errorf("resume %s: %w", r.Slug, err)
		}
		return Replay{LastID: last}, nil
	}
	evs, last, err := s.store.EventsAfter(ctx, r.Slug, after, limit)
	if err != nil {
		return Replay{}, fmt.Errorf("resume %s after %d: %w", r.Slug, after, err)
	}
	switch {
	case after == last:
		return Replay{LastID: last}, nil
	case after > last, len(evs) == 0, evs[0].ID != after+1, last-after > MaxCatchUp:
		// The listener's point is ahead of the room (history was wiped),
		// the events after it are gone (expired or cleared), or it is so
		// far behind that replaying everything would take longer than
		// reloading: it must reload history, then follow from the room's
		// last id.
		reset := Event{ID: last, Room: r.Slug, Type: EventStreamReset, At: time.Now().UTC()}
		return Replay{Events: []Event{reset}, LastID: last}, nil
	}
	lastSent := evs[len(evs)-1].ID
	return Replay{Events: evs, LastID: lastSent, More: lastSent < last}, nil
}

// FramesWithin encodes the longest prefix of the replay whose frames fit
// in maxBytes (always at least one event) and returns it as a Replay of
// its own: LastID is the last event it carries and More is set when
// events were left out. Tombstones are skipped as in Frames but count as
// carried.
func (r Replay) FramesWithin(maxBytes int) ([]byte, Replay, error) {
	var out []byte
	for i, ev := range r.Events {
		if ev.sendsNothing() {
			continue
		}
		next, err := AppendFrame(out, ev)
		if err != nil {
			return nil, Replay{}, err
		}
		if len(next) > maxBytes && i > 0 {
			cut := Replay{Events: r.Events[:i], LastID: r.Events[i-1].ID, More: true}
			return out, cut, nil
		}
		out = next
	}
	return out, r, nil
}

// Frames encodes the replay as SSE frames. Tombstones of deleted messages,
// and edits of messages deleted since, are skipped: the delete event tells
// the client.
func (r Replay) Frames() ([]byte, error) {
	var out []byte
	for _, ev := range r.Events {
		if ev.sendsNothing() {
			continue
		}
		var err error
		if out, err = AppendFrame(out, ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sendsNothing reports whether a replayed event has no frame: the tombstone
// of a deleted message, or an edit of a message deleted since (the delete
// event that follows tells the client).
func (e Event) sendsNothing() bool {
	return (e.Type == EventMessage || e.Type == EventEdit) && e.Message == nil
}

// AppendFrame appends ev as one SSE frame (id, event, data) to dst.
func AppendFrame(dst []byte, ev Event) ([]byte, error) {
	data, err := ev.Data()
	if err != nil {
		return dst, err
	}
	out, err := sse.Event{ID: strconv.FormatInt(ev.ID, 10), Type: string(ev.Type), Data: data}.Append(dst)
	if err != nil {
		return dst, fmt.Errorf("chat: frame event %s/%d: %w", ev.Room, ev.ID, err)
	}
	return out, nil
}

// publish sends ev to the room's listeners with the id of the event before
// it as prev-id, so the proxy detects lost or reordered publishes. Failures
// are logged: the event is already stored and will be recovered.
func (s *Service) publish(ctx context.Context, ev Event) {
	if s.pub == nil {
		return
	}
	frame, err := AppendFrame(nil, ev)
	if err != nil {
		s.log.ErrorContext(ctx, "encode event for publish", "event", ev, "err", err)
		return
	}
	// The publisher bounds the publish (grip.PublishTimeout): a late one is
	// recovered through the next link, so it must not hold the answer long.
	start := time.Now()
	id, prev := strconv.FormatInt(ev.ID, 10), strconv.FormatInt(ev.ID-1, 10)
	if err := s.pub.Publish(ctx, ChannelFor(ev.Room), id, prev, frame); err != nil {
		// The PublishFailures metric (EMF) pages an operator: the event is
		// safe, but listeners get it late, through the next link.
		s.log.WarnContext(ctx, "publish failed; the proxy will recover the event through the next link",
			append([]any{"event", ev, "err", err, "ms", time.Since(start).Milliseconds()},
				emf.Count(time.Now(), emf.PublishFailures)...)...)
		return
	}
	s.log.InfoContext(ctx, "published", append([]any{"event", ev, "ms", time.Since(start).Milliseconds()},
		emf.Count(time.Now(), emf.Publishes)...)...)
}
