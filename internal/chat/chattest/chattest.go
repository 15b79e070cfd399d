// Package chattest has in-memory fakes of chat.Store and chat.Publisher for
// fast unit tests. They follow the contracts of the interfaces (contiguous
// ids, idempotent client ids, tombstones, gaps after a clear) but are not a
// database: integration tests use DynamoDB Local and Pushpin.
package chattest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
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
		m := *ev.Message
		ev.Message = &m
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

// ClearRoom implements chat.Store.
func (s *Store) ClearRoom(_ context.Context, slug, user string) (chat.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return chat.Event{}, s.Err
	}
	r := s.room(slug)
	// A whole-room clear leaves a gap in the ids; a per-user clear leaves
	// tombstones, as the DynamoDB store does.
	for id, ev := range r.events {
		switch {
		case user == "":
			delete(r.events, id)
		case ev.Message != nil && ev.Message.User == user:
			delete(r.clients, ev.Message.ClientID)
			ev.Message = nil
		}
	}
	if user == "" {
		r.clients = map[string]int64{}
	}
	return s.append(r, chat.Event{Room: slug, Type: chat.EventRefresh, User: user}), nil
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
		page.Messages = append(page.Messages, *ev.Message)
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
			out = append(out, copyEvent(*ev))
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
