package chat

import (
	"context"
	"fmt"
)

// Edit is a new text for a message, as the store keeps it.
type Edit struct {
	// Room is the room's slug.
	Room string
	// ID is the message's id.
	ID int64
	// User must be the message's author.
	User string
	// Text is the new text, normalised and filtered.
	Text string
	// HTML is Text rendered.
	HTML string
	// ClientID is the edit's own idempotency key (a UUID), if given.
	ClientID string
}

// EditInput is what an author sends to edit a message.
type EditInput struct {
	// Room is the room's slug.
	Room string
	// ID is the message to edit.
	ID int64
	// User is who asks, as the edge named them in x-user.
	User string
	// Text is the new raw text; Edit trims, checks and renders it as Send
	// does.
	Text string
	// ClientID is the optional idempotency key of this edit (a UUID): a
	// repeat stores and publishes nothing.
	ClientID string
}

// Edit replaces the text of message id with in.Text if in.User wrote it,
// and publishes an edit event carrying the message as edited. The text goes
// through the same checks, filter and rendering as a send. A repeated
// ClientID returns the message as it is with created == false and
// publishes nothing.
func (s *Service) Edit(ctx context.Context, in EditInput) (Message, bool, error) {
	r, err := s.rooms.Lookup(in.Room)
	if err != nil {
		return Message{}, false, fmt.Errorf("edit: %w", err)
	}
	user, err := NormalizeUser(in.User)
	if err != nil {
		return Message{}, false, fmt.Errorf("edit in %s: %w", r.Slug, err)
	}
	if in.ID <= 0 {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, ErrMessageNotFound)
	}
	text, err := NormalizeText(in.Text)
	if err != nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, err)
	}
	clientID, err := NormalizeClientID(in.ClientID)
	if err != nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, err)
	}
	if s.render == nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, ErrNoRenderer)
	}
	text, html, err := s.render.Render(text)
	if err != nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, err)
	}
	ev, created, err := s.store.EditMessage(ctx, Edit{Room: r.Slug, ID: in.ID, User: user, Text: text, HTML: html, ClientID: clientID})
	if err != nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: %w", r.Slug, in.ID, err)
	}
	if ev.Message == nil {
		return Message{}, false, fmt.Errorf("edit %s/%d: store returned event %d without the message", r.Slug, in.ID, ev.ID)
	}
	if created {
		s.publish(ctx, ev)
	}
	return *ev.Message, created, nil
}
