package chat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
)

// ReactionEmoji returns the emoji a message can be reacted with, in the
// order the page shows them.
func ReactionEmoji() []string {
	return []string{"👍", "❤️", "😂", "🎉", "😮", "😢"}
}

// ValidEmoji reports whether e is one of ReactionEmoji.
func ValidEmoji(e string) bool { return slices.Contains(ReactionEmoji(), e) }

// Reaction is one user's reaction to a message being added or removed: the
// data of a reaction event.
type Reaction struct {
	// MessageID is the message reacted to.
	MessageID int64 `json:"id"`
	// Room is the room's slug.
	Room string `json:"room"`
	// User is who reacted.
	User string `json:"user"`
	// Emoji is one of ReactionEmoji.
	Emoji string `json:"emoji"`
	// On is true when the reaction was added, false when it was removed.
	On bool `json:"on"`
}

// LogValue keeps logs short.
func (r Reaction) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", r.MessageID), slog.String("room", r.Room), slog.Bool("on", r.On))
}

// React sets whether user reacts to message id with emoji (on: add, off:
// remove). Setting what is already so changes nothing and publishes
// nothing (changed == false), so two tabs toggling at once, or a retry,
// never count a user twice.
func (s *Service) React(ctx context.Context, in Reaction) (Reaction, bool, error) {
	r, err := s.rooms.Lookup(in.Room)
	if err != nil {
		return Reaction{}, false, fmt.Errorf("react: %w", err)
	}
	user, err := NormalizeUser(in.User)
	if err != nil {
		return Reaction{}, false, fmt.Errorf("react in %s: %w", r.Slug, err)
	}
	if in.MessageID <= 0 {
		return Reaction{}, false, fmt.Errorf("react to %s/%d: %w", r.Slug, in.MessageID, ErrMessageNotFound)
	}
	if !ValidEmoji(in.Emoji) {
		return Reaction{}, false, fmt.Errorf("react to %s/%d: %w", r.Slug, in.MessageID, ErrUnknownEmoji)
	}
	want := Reaction{MessageID: in.MessageID, Room: r.Slug, User: user, Emoji: in.Emoji, On: in.On}
	ev, changed, err := s.store.React(ctx, want)
	if err != nil {
		return Reaction{}, false, fmt.Errorf("react to %s/%d: %w", r.Slug, in.MessageID, err)
	}
	if changed {
		s.publish(ctx, ev)
	}
	return want, changed, nil
}
