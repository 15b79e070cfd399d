package chattest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

var _ chat.PresenceStore = (*PresenceStore)(nil)

// PresenceStore is an in-memory chat.PresenceStore. Set Err to make every
// call fail.
type PresenceStore struct {
	mu sync.Mutex
	// Err, when set, is returned by every call.
	Err error
	// rooms maps a room to its visitors' marks.
	rooms map[string]map[chat.Visitor]mark
	// Touches counts the calls to Touch, written or not.
	Touches int
}

type mark struct{ at, until time.Time }

// NewPresenceStore returns an empty PresenceStore.
func NewPresenceStore() *PresenceStore {
	return &PresenceStore{rooms: map[string]map[chat.Visitor]mark{}}
}

// Touch implements chat.PresenceStore.
func (s *PresenceStore) Touch(_ context.Context, room string, v chat.Visitor, now, until, since time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Touches++
	if s.Err != nil {
		return false, s.Err
	}
	r := s.rooms[room]
	if r == nil {
		r = map[chat.Visitor]mark{}
		s.rooms[room] = r
	}
	if m, ok := r[v]; ok && m.at.After(since) {
		return false, nil
	}
	r[v] = mark{at: now, until: until}
	return true, nil
}

// Present implements chat.PresenceStore, ordered by user then guest.
func (s *PresenceStore) Present(_ context.Context, room string, now time.Time) ([]chat.Presence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	var out []chat.Presence
	for v, m := range s.rooms[room] {
		if m.until.After(now) {
			out = append(out, chat.Presence{Visitor: v, Until: m.until})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Guest < out[j].Guest
	})
	return out, nil
}
