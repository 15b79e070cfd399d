package chat

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. The HTTP layer maps them to status codes in
// one place with errors.Is; wrap them with context, never replace them.
var (
	// ErrRoomNotFound means the room is not one of the configured rooms.
	ErrRoomNotFound = errors.New("chat: room not found")
	// ErrMessageNotFound means no live message has that id in the room.
	ErrMessageNotFound = errors.New("chat: message not found")
	// ErrForbidden means the caller may not change that message.
	ErrForbidden = errors.New("chat: forbidden")
	// ErrEmptyText means the message text is empty after trimming.
	ErrEmptyText = errors.New("chat: message text is empty")
	// ErrTextTooLong means the message text is longer than MaxTextLen.
	ErrTextTooLong = errors.New("chat: message text is too long")
	// ErrInvalidText means the message text is not valid UTF-8 or holds
	// control characters other than newline and tab.
	ErrInvalidText = errors.New("chat: message text is not valid")
	// ErrInvalidUser means the user name is empty, too long, not valid text,
	// or holds a comma or an invisible formatting character.
	ErrInvalidUser = errors.New("chat: user name is not valid")
	// ErrInvalidClientID means the clientId is not a UUID.
	ErrInvalidClientID = errors.New("chat: clientId is not valid")
	// ErrClientIDTaken means another user's message in the room already has
	// that clientId; nothing is stored.
	ErrClientIDTaken = errors.New("chat: clientId is taken by another user's message")
	// ErrMessageDeleted means the message was deleted (by its author or an
	// admin clear) and cannot be edited or reacted to.
	ErrMessageDeleted = errors.New("chat: message was deleted")
	// ErrNotAuthor means the caller tried to edit someone else's message.
	// It wraps ErrForbidden.
	ErrNotAuthor = fmt.Errorf("%w: only the author may edit a message", ErrForbidden)
	// ErrUnknownEmoji means the reaction is not one of ReactionEmoji.
	ErrUnknownEmoji = errors.New("chat: not one of the reaction emoji")
	// ErrConflict means concurrent writers kept winning the race for the next
	// event id and the store gave up; the request may be retried.
	ErrConflict = errors.New("chat: too many concurrent writers")
)
