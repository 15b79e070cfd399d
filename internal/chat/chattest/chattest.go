// Package chattest has in-memory fakes of chat.Store and chat.Publisher for
// fast unit tests. They follow the contracts of the interfaces (contiguous
// ids, idempotent client ids, tombstones, gaps after a clear) but are not a
// database: integration tests use DynamoDB Local and Pushpin.
package chattest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// Store is an in-memory chat.Store. Set Err to make every call fail.
type Store struct {
	mu    sync.Mutex
	rooms map[string]*room
	// Err, when set, is returned by every method.
	Err error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

type room struct {
	last    int64
	events  map[int64]*chat.Event
	clients map[string]int64
}

var _ chat.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{rooms: map[string]*room{}, Now: time.Now} }

func (s *Store) room(slug string) *room {
	r := s.rooms[slug]
	if r == nil {
		r = &room{events: map[int64]*chat.Event{}, clients: map[string]int64{}}
		s.rooms[slug] = r
	}
	return r
}

func (s *Store) append(r *room, ev chat.Event) chat.Event {
	r.last++
	ev.ID = r.last
	ev.At = s.Now().UTC().Truncate(time.Millisecond)
	r.events[ev.ID] = &ev
	return copyEvent(ev)
}

func copyEvent(ev chat.Event) chat.Event {
	if ev.Message != nil {
		m := copyMessage(*ev.Message)
		ev.Message = &m
	}
	if ev.Reaction != nil {
		r := *ev.Reaction
		ev.Reaction = &r
	}
	return ev
}

// AppendMessage implements chat.Store.
func (s *Store) AppendMessage(_ context.Context, m chat.Message) (chat.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, false, s.Err
	}
	r := s.room(m.Room)
	if m.ClientID != "" {
		if id, ok := r.clients[m.ClientID]; ok {
			if ev, ok := r.events[id]; ok && ev.Type == chat.EventEdit {
				return chat.Event{}, false, fmt.Errorf("append %s: clientId names edit %d: %w", m.Room, id, chat.ErrClientIDTaken)
			}
			if ev, ok := r.events[id]; ok && ev.Message != nil {
				return copyEvent(*ev), false, nil
			}
			delete(r.clients, m.ClientID) // stale key: its message is gone
		}
	}
	ev := s.append(r, chat.Event{Room: m.Room, Type: chat.EventMessage, Message: &m})
	m.ID, m.SentAt = ev.ID, ev.At
	ev.Message.ID, ev.Message.SentAt = ev.ID, ev.At
	if m.ClientID != "" {
		r.clients[m.ClientID] = ev.ID
	}
	return ev, true, nil
}

// DeleteMessage implements chat.Store.
func (s *Store) DeleteMessage(_ context.Context, slug string, id int64, user string) (chat.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, s.Err
	}
	r := s.room(slug)
	ev, ok := r.events[id]
	if !ok || ev.Type != chat.EventMessage || ev.Message == nil {
		return chat.Event{}, fmt.Errorf("delete %s/%d: %w", slug, id, chat.ErrMessageNotFound)
	}
	if ev.Message.User != user {
		return chat.Event{}, fmt.Errorf("delete %s/%d: %w", slug, id, chat.ErrForbidden)
	}
	delete(r.clients, ev.Message.ClientID)
	ev.Message = nil // tombstone
	return s.append(r, chat.Event{Room: slug, Type: chat.EventDelete, DeletedID: id}), nil
}

// copyMessage copies m with its own reactions.
func copyMessage(m chat.Message) chat.Message {
	if m.Reactions != nil {
		rx := make(map[string][]string, len(m.Reactions))
		for e, users := range m.Reactions {
			rx[e] = append([]string(nil), users...)
		}
		m.Reactions = rx
	}
	if m.EditedAt != nil {
		at := *m.EditedAt
		m.EditedAt = &at
	}
	return m
}

// message returns the message event id of r: the event, and whether it is
// a message that is still there.
func (r *room) message(id int64) (*chat.Event, bool) {
	ev, ok := r.events[id]
	if !ok || ev.Type != chat.EventMessage {
		return nil, false
	}
	return ev, true
}

// EditMessage implements chat.Store.
func (s *Store) EditMessage(_ context.Context, e chat.Edit) (chat.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, false, s.Err
	}
	r := s.room(e.Room)
	ev, ok := r.message(e.ID)
	switch {
	case !ok:
		return chat.Event{}, false, fmt.Errorf("edit %s/%d: %w", e.Room, e.ID, chat.ErrMessageNotFound)
	case ev.Message == nil:
		return chat.Event{}, false, fmt.Errorf("edit %s/%d: %w", e.Room, e.ID, chat.ErrMessageDeleted)
	case ev.Message.User != e.User:
		return chat.Event{}, false, fmt.Errorf("edit %s/%d: %w", e.Room, e.ID, chat.ErrNotAuthor)
	}
	if e.ClientID != "" {
		if id, ok := r.clients[e.ClientID]; ok {
			first := r.events[id]
			if first == nil || first.Type != chat.EventEdit || first.EditedID != e.ID {
				return chat.Event{}, false, fmt.Errorf("edit %s/%d: %w", e.Room, e.ID, chat.ErrClientIDTaken)
			}
			m := copyMessage(*ev.Message)
			return chat.Event{ID: id, Room: e.Room, Type: chat.EventEdit, At: first.At, EditedID: e.ID, Message: &m}, false, nil
		}
	}
	edit := s.append(r, chat.Event{Room: e.Room, Type: chat.EventEdit, EditedID: e.ID})
	at := edit.At
	ev.Message.Text, ev.Message.HTML, ev.Message.EditedAt = e.Text, e.HTML, &at
	if e.ClientID != "" {
		r.clients[e.ClientID] = edit.ID
	}
	m := copyMessage(*ev.Message)
	edit.Message = &m
	return edit, true, nil
}

// React implements chat.Store.
func (s *Store) React(_ context.Context, rx chat.Reaction) (chat.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, false, s.Err
	}
	r := s.room(rx.Room)
	ev, ok := r.message(rx.MessageID)
	switch {
	case !ok:
		return chat.Event{}, false, fmt.Errorf("react %s/%d: %w", rx.Room, rx.MessageID, chat.ErrMessageNotFound)
	case ev.Message == nil:
		return chat.Event{}, false, fmt.Errorf("react %s/%d: %w", rx.Room, rx.MessageID, chat.ErrMessageDeleted)
	}
	m := ev.Message
	users := m.Reactions[rx.Emoji]
	has := slices.Contains(users, rx.User)
	if has == rx.On {
		return chat.Event{}, false, nil
	}
	if rx.On {
		users = append(users, rx.User)
		slices.Sort(users)
	} else {
		users = slices.DeleteFunc(users, func(u string) bool { return u == rx.User })
	}
	if m.Reactions == nil {
		m.Reactions = map[string][]string{}
	}
	if len(users) == 0 {
		delete(m.Reactions, rx.Emoji)
	} else {
		m.Reactions[rx.Emoji] = users
	}
	if len(m.Reactions) == 0 {
		m.Reactions = nil
	}
	return s.append(r, chat.Event{Room: rx.Room, Type: chat.EventReaction, Reaction: &rx}), true, nil
}

// ClearRoom implements chat.Store.
func (s *Store) ClearRoom(_ context.Context, slug, user string) (chat.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, s.Err
	}
	r := s.room(slug)
	// A whole-room clear leaves a gap in the ids; a per-user clear leaves
	// tombstones and takes the user's reactions back, as the DynamoDB store
	// does.
	for id, ev := range r.events {
		switch {
		case user == "":
			delete(r.events, id)
		case ev.Message != nil && ev.Message.User == user:
			delete(r.clients, ev.Message.ClientID)
			ev.Message = nil
		case ev.Message != nil:
			unreact(ev.Message, user)
		}
	}
	if user == "" {
		r.clients = map[string]int64{}
	}
	return s.append(r, chat.Event{Room: slug, Type: chat.EventRefresh, User: user}), nil
}

// unreact takes user out of m's reactions.
func unreact(m *chat.Message, user string) {
	for emoji, users := range m.Reactions {
		if users = slices.DeleteFunc(users, func(u string) bool { return u == user }); len(users) == 0 {
			delete(m.Reactions, emoji)
		} else {
			m.Reactions[emoji] = users
		}
	}
	if len(m.Reactions) == 0 {
		m.Reactions = nil
	}
}

// UserRooms implements chat.Store.
func (s *Store) UserRooms(_ context.Context, user string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	var out []string
	for slug, r := range s.rooms {
		for _, ev := range r.events {
			if ev.Message != nil && ev.Message.User == user {
				out = append(out, slug)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// LastEventID implements chat.Store.
func (s *Store) LastEventID(_ context.Context, slug string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return 0, s.Err
	}
	return s.room(slug).last, nil
}

// Messages implements chat.Store.
func (s *Store) Messages(_ context.Context, slug string, before int64, limit int) (chat.MessagePage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.MessagePage{}, s.Err
	}
	r := s.room(slug)
	var page chat.MessagePage
	if before <= 0 {
		before = r.last + 1
		page.LastEventID = r.last
	}
	for id := before - 1; id > 0; id-- {
		ev, ok := r.events[id]
		if !ok || ev.Message == nil {
			continue
		}
		if len(page.Messages) == limit {
			page.More = true
			break
		}
		page.Messages = append(page.Messages, copyMessage(*ev.Message))
	}
	return page, nil
}

// EventsAfter implements chat.Store.
func (s *Store) EventsAfter(_ context.Context, slug string, after int64, limit int) ([]chat.Event, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, 0, s.Err
	}
	r := s.room(slug)
	var out []chat.Event
	for id := after + 1; id <= r.last && len(out) < limit; id++ {
		if ev, ok := r.events[id]; ok {
			c := copyEvent(*ev)
			if c.Type == chat.EventEdit {
				// As the DynamoDB store does: the message as it is now.
				c.Message = nil
				if m, ok := r.message(c.EditedID); ok && m.Message != nil {
					cm := copyMessage(*m.Message)
					c.Message = &cm
				}
			}
			out = append(out, c)
		}
	}
	return out, r.last, nil
}

// Expire removes the room's events up to and including id, as a TTL would.
func (s *Store) Expire(slug string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room(slug)
	for k := range r.events {
		if k <= id {
			delete(r.events, k)
		}
	}
}

// Publish is one recorded publish.
type Publish struct {
	Channel, ID, PrevID string
	Frame               []byte
}

// Publisher is a chat.Publisher that records what it is given. Set Err to
// make publishing fail (nothing is recorded then).
type Publisher struct {
	mu        sync.Mutex
	published []Publish
	// Err, when set, is returned by Publish.
	Err error
}

var _ chat.Publisher = (*Publisher)(nil)

// NewPublisher returns an empty Publisher.
func NewPublisher() *Publisher { return &Publisher{} }

// ErrPublish is a ready-made error for Publisher.Err.
var ErrPublish = errors.New("chattest: publish failed")

// Publish implements chat.Publisher.
func (p *Publisher) Publish(ctx context.Context, channel, id, prevID string, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return p.Err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.published = append(p.published, Publish{Channel: channel, ID: id, PrevID: prevID, Frame: append([]byte(nil), frame...)})
	return nil
}

// Published returns a copy of what was published, in order.
func (p *Publisher) Published() []Publish {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Publish(nil), p.published...)
}

// Seed sends texts to room as user through svc and returns the messages,
// failing t on an error.
func Seed(t testing.TB, svc *chat.Service, room, user string, texts ...string) []chat.Message {
	t.Helper()
	var out []chat.Message
	for _, text := range texts {
		m, _, err := svc.Send(context.Background(), chat.SendInput{Room: room, User: user, Text: text})
		if err != nil {
			t.Fatalf("seed %q: %v", text, err)
		}
		out = append(out, m)
	}
	return out
}

// LastID returns room's last event id, failing t on an error.
func (s *Store) LastID(t testing.TB, room string) int64 {
	t.Helper()
	id, err := s.LastEventID(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
