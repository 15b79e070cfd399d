package dynamo_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// TestCallCountsEditsAndReactions pins the DynamoDB calls of edits,
// reactions and the replay of both, on one warm store, as TestCallCounts
// does for the other writes.
func TestCallCountsEditsAndReactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := &countingAPI{next: local.client, calls: map[string]int{}}
	st, err := dynamo.New(api, testTable, dynamo.WithLogger(quiet))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	room, user := unique(t, "room"), unique(t, "user")
	const editCID = "66666666-2222-4333-8444-555555555555"
	edit := func(text, cid string) chat.Edit {
		return chat.Edit{Room: room, ID: 1, User: user, Text: text, HTML: text, ClientID: cid}
	}
	react := func(on bool) func() error {
		return func() error {
			_, _, err := st.React(ctx, chat.Reaction{Room: room, MessageID: 1, User: "bob", Emoji: "👍", On: on})
			return err
		}
	}
	type counts = map[string]int
	steps := []struct {
		name string
		do   func() error
		want counts
	}{
		{"append", func() error {
			_, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: user, Text: "typo"})
			return err
		}, counts{"GetItem": 1, "TransactWriteItems": 1}},
		// Event 2.
		{"edit", func() error { _, _, err := st.EditMessage(ctx, edit("fixed", editCID)); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		{"edit repeated clientId", func() error {
			_, created, err := st.EditMessage(ctx, edit("fixed", editCID))
			if err == nil && created {
				return errUnexpectedSuccess
			}
			return err
		}, counts{"GetItem": 3, "TransactWriteItems": 1}},
		{"edit by someone else", func() error {
			e := edit("mine now", "")
			e.User = "mallory"
			_, _, err := st.EditMessage(ctx, e)
			return ignore(err, chat.ErrForbidden)
		}, counts{"GetItem": 1}},
		// Events 3 and 4; the repeat in between stores nothing.
		{"react", react(true), counts{"TransactWriteItems": 1}},
		{"react again (another tab)", react(true), counts{"TransactWriteItems": 1}},
		{"unreact", react(false), counts{"TransactWriteItems": 1}},
		{"newest page", func() error { _, err := st.Messages(ctx, room, 0, 20); return err },
			counts{"Query": 1}},
		// The edit's message is read after the Query.
		{"replay with an edit", func() error { _, _, err := st.EventsAfter(ctx, room, 0, 50); return err },
			counts{"Query": 1, "BatchGetItem": 1}},
		{"replay of reactions only", func() error { _, _, err := st.EventsAfter(ctx, room, 2, 50); return err },
			counts{"Query": 1}},
		{"delete", func() error { _, err := st.DeleteMessage(ctx, room, 1, user); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		{"edit a deleted message", func() error {
			_, _, err := st.EditMessage(ctx, edit("too late", ""))
			return ignore(err, chat.ErrMessageDeleted)
		}, counts{"GetItem": 1}},
		{"react to a deleted message", func() error { return ignore(react(true)(), chat.ErrMessageDeleted) },
			counts{"TransactWriteItems": 1}},
		{"react to no message", func() error {
			_, _, err := st.React(ctx, chat.Reaction{Room: room, MessageID: 99, User: "bob", Emoji: "👍", On: true})
			return ignore(err, chat.ErrMessageNotFound)
		}, counts{"TransactWriteItems": 1}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := api.take(); !maps.Equal(got, step.want) {
			t.Errorf("%s: calls %v, want %v", step.name, got, step.want)
		}
	}
}

func TestEditMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room, user := unique(t, "room"), unique(t, "user")
	sent, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: user, Text: "helo", HTML: "helo", ClientID: "11111111-2222-4333-8444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	const cid = "77777777-2222-4333-8444-555555555555"
	ev, created, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: sent.ID, User: user, Text: "hello", HTML: "<b>hello</b>", ClientID: cid})
	if err != nil || !created {
		t.Fatalf("EditMessage = %v, %v", created, err)
	}
	m := ev.Message
	if ev.Type != chat.EventEdit || ev.ID != sent.ID+1 || ev.EditedID != sent.ID || m == nil ||
		m.ID != sent.ID || m.Text != "hello" || m.HTML != "<b>hello</b>" || m.EditedAt == nil || !m.EditedAt.Equal(ev.At) ||
		m.ClientID != sent.Message.ClientID || !m.SentAt.Equal(sent.At) {
		t.Fatalf("edit event = %+v, message %+v", ev, m)
	}
	// History and replay give the edited version.
	page, err := st.Messages(ctx, room, 0, 10)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Text != "hello" || page.Messages[0].EditedAt == nil || page.LastEventID != ev.ID {
		t.Fatalf("Messages = %+v, %v", page, err)
	}
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: sent.ID, User: user, Text: "hello!", HTML: "hello!"}); err != nil {
		t.Fatal(err)
	}
	evs, last, err := st.EventsAfter(ctx, room, 0, 10)
	if err != nil || last != sent.ID+2 || len(evs) != 3 {
		t.Fatalf("EventsAfter = %+v, %d, %v", evs, last, err)
	}
	for _, e := range evs {
		if e.Message == nil || e.Message.Text != "hello!" {
			t.Errorf("replayed %s %d: %+v, want the latest text", e.Type, e.ID, e.Message)
		}
	}
	// A repeat answers the message as it is, storing nothing.
	again, created, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: sent.ID, User: user, Text: "other", HTML: "other", ClientID: cid})
	if err != nil || created || again.ID != ev.ID || again.Message.Text != "hello!" {
		t.Fatalf("repeat = %+v, %v, %v", again, created, err)
	}
	if l, _ := st.LastEventID(ctx, room); l != last {
		t.Fatalf("repeat moved the head to %d", l)
	}
	// The send's clientId, or the edit's for another message, is taken.
	for _, e := range []chat.Edit{
		{Room: room, ID: sent.ID, User: user, Text: "x", HTML: "x", ClientID: sent.Message.ClientID},
	} {
		if _, _, err := st.EditMessage(ctx, e); !errors.Is(err, chat.ErrClientIDTaken) {
			t.Errorf("edit with the send's clientId: %v, want ErrClientIDTaken", err)
		}
	}
	other, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: user, Text: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: other.ID, User: user, Text: "x", HTML: "x", ClientID: cid}); !errors.Is(err, chat.ErrClientIDTaken) {
		t.Errorf("edit of another message with a used clientId: %v, want ErrClientIDTaken", err)
	}
	if _, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: user, Text: "x", ClientID: cid}); !errors.Is(err, chat.ErrClientIDTaken) {
		t.Errorf("send with an edit's clientId: %v, want ErrClientIDTaken", err)
	}
	// Not the author, unknown, deleted.
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: sent.ID, User: "eve", Text: "x", HTML: "x"}); !errors.Is(err, chat.ErrNotAuthor) {
		t.Errorf("someone else's: %v", err)
	}
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: 999, User: user, Text: "x", HTML: "x"}); !errors.Is(err, chat.ErrMessageNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: ev.ID, User: user, Text: "x", HTML: "x"}); !errors.Is(err, chat.ErrMessageNotFound) {
		t.Errorf("an edit event's id: %v, want ErrMessageNotFound", err)
	}
	if _, err := st.DeleteMessage(ctx, room, sent.ID, user); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: sent.ID, User: user, Text: "x", HTML: "x"}); !errors.Is(err, chat.ErrMessageDeleted) {
		t.Errorf("deleted: %v, want ErrMessageDeleted", err)
	}
	// The deleted message's edits replay without text.
	evs, _, err = st.EventsAfter(ctx, room, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if (e.Type == chat.EventEdit || e.ID == sent.ID) && e.Message != nil {
			t.Errorf("event %d (%s) of a deleted message still carries %+v", e.ID, e.Type, e.Message)
		}
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	sent, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: "ana", Text: "party?"})
	if err != nil {
		t.Fatal(err)
	}
	rx := func(user, emoji string, on bool) chat.Reaction {
		return chat.Reaction{Room: room, MessageID: sent.ID, User: user, Emoji: emoji, On: on}
	}
	// Two tabs of bob, and ana, all at once: bob counts once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var changed []int64
	for _, r := range []chat.Reaction{rx("bob", "🎉", true), rx("bob", "🎉", true), rx("bob", "🎉", true), rx("ana", "🎉", true), rx("bob", "👍", true)} {
		wg.Go(func() {
			ev, ok, err := st.React(ctx, r)
			if err != nil {
				t.Errorf("React %+v: %v", r, err)
				return
			}
			if ok {
				mu.Lock()
				changed = append(changed, ev.ID)
				mu.Unlock()
				if ev.Type != chat.EventReaction || *ev.Reaction != r {
					t.Errorf("event %+v for %+v", ev, r)
				}
			}
		})
	}
	wg.Wait()
	if len(changed) != 3 {
		t.Fatalf("%d reactions changed something, want 3 (bob 🎉 once, ana 🎉, bob 👍)", len(changed))
	}
	page, err := st.Messages(ctx, room, 0, 10)
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("Messages = %+v, %v", page, err)
	}
	want := map[string][]string{"🎉": {"ana", "bob"}, "👍": {"bob"}}
	if got := page.Messages[0].Reactions; !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("reactions = %v, want %v", got, want)
	}
	if _, ok, err := st.React(ctx, rx("bob", "👍", false)); err != nil || !ok {
		t.Fatalf("remove: %v, %v", ok, err)
	}
	if _, ok, err := st.React(ctx, rx("bob", "👍", false)); err != nil || ok {
		t.Fatalf("remove again: %v, %v, want no change", ok, err)
	}
	evs, last, err := st.EventsAfter(ctx, room, sent.ID, 10)
	if err != nil || len(evs) != 4 || last != evs[3].ID {
		t.Fatalf("EventsAfter = %+v, %d, %v", evs, last, err)
	}
	if r := evs[3].Reaction; evs[3].Type != chat.EventReaction || r == nil || *r != rx("bob", "👍", false) {
		t.Errorf("last replayed = %+v", evs[3])
	}
	page, _ = st.Messages(ctx, room, 0, 10)
	if got := page.Messages[0].Reactions; !maps.EqualFunc(got, map[string][]string{"🎉": {"ana", "bob"}}, slices.Equal) {
		t.Errorf("after removing: %v", got)
	}
}
