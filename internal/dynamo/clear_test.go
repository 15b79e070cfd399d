package dynamo_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// react sets user's reaction to message id and fails the test unless it
// changed something.
func react(t *testing.T, st *dynamo.Store, room string, id int64, user, emoji string, on bool) {
	t.Helper()
	_, changed, err := st.React(context.Background(), chat.Reaction{Room: room, MessageID: id, User: user, Emoji: emoji, On: on})
	if err != nil || !changed {
		t.Fatalf("React(%s/%d, %s, %s, %v) = changed %v, %v; want a change", room, id, user, emoji, on, changed, err)
	}
}

// reactionsOf returns the reactions of room's live messages by id, from
// the history a page loads.
func reactionsOf(t *testing.T, st *dynamo.Store, room string) map[int64]map[string][]string {
	t.Helper()
	page, err := st.Messages(context.Background(), room, 0, 100)
	if err != nil {
		t.Fatalf("Messages(%s): %v", room, err)
	}
	out := map[int64]map[string][]string{}
	for _, m := range page.Messages {
		out[m.ID] = m.Reactions
	}
	return out
}

// equalReactions reports whether two messages' reactions are the same.
func equalReactions(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]string])
}

func TestClearRoomOneUserTakesBackReactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room, other := unique(t, "room"), unique(t, "room")
	alice, bob, carol := unique(t, "alice"), unique(t, "bob"), unique(t, "carol")
	m1 := send(t, st, room, bob, "b1", "").ID
	m2 := send(t, st, room, bob, "b2", "").ID
	m3 := send(t, st, room, carol, "c3", "").ID
	m4 := send(t, st, room, alice, "a4", "").ID
	react(t, st, room, m1, alice, "👍", true)
	react(t, st, room, m1, alice, "❤️", true)
	react(t, st, room, m1, bob, "👍", true)
	react(t, st, room, m2, alice, "🎉", true)
	react(t, st, room, m3, bob, "🎉", true)
	react(t, st, room, m3, alice, "😂", true)
	react(t, st, room, m3, alice, "😂", false)
	react(t, st, room, m4, bob, "😮", true)
	o1 := send(t, st, other, bob, "elsewhere", "").ID
	react(t, st, other, o1, alice, "👍", true)

	ref, err := st.ClearRoom(ctx, room, alice)
	if err != nil {
		t.Fatalf("ClearRoom(%s): %v", alice, err)
	}
	want := map[int64]map[string][]string{
		m1: {"👍": {bob}},
		m2: nil,
		m3: {"🎉": {bob}},
		// m4, alice's own, is a tombstone.
	}
	got := reactionsOf(t, st, room)
	if !maps.EqualFunc(got, want, equalReactions) {
		t.Fatalf("reactions after clearing %s = %v, want %v", alice, got, want)
	}
	// A resume after the refresh replays nothing of alice's, and the
	// messages it joins (none here) carry no reaction of hers either.
	if evs, _ := allEvents(t, st, room, ref.ID); len(evs) != 0 {
		t.Fatalf("events after the refresh %d = %v, want none", ref.ID, ids(evs))
	}
	// Another room keeps alice's reaction.
	if got := reactionsOf(t, st, other)[o1]; !equalReactions(got, map[string][]string{"👍": {alice}}) {
		t.Fatalf("reactions in the other room = %v, want alice's 👍", got)
	}
	// After the clear alice may react again; a second clear takes that
	// back too, and leaves the rest as it was.
	react(t, st, room, m1, alice, "😮", true)
	late := send(t, st, room, carol, "after", "").ID
	if _, err := st.ClearRoom(ctx, room, alice); err != nil {
		t.Fatalf("second ClearRoom(%s): %v", alice, err)
	}
	want[late] = nil
	if got := reactionsOf(t, st, room); !maps.EqualFunc(got, want, equalReactions) {
		t.Fatalf("reactions after the second clear = %v, want %v", got, want)
	}
}

// updateHook is a dynamo.API that runs before once, just before the first
// UpdateItem it passes on.
type updateHook struct {
	dynamo.API
	once   sync.Once
	before func()
}

func (h *updateHook) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	h.once.Do(h.before)
	return h.API.UpdateItem(ctx, in, o...)
}

// TestClearRoomOneUserKeepsLaterReactions changes the reactions between
// the clear's read of them and its writes: what the user did after the
// refresh stays, what the user had before it goes, whoever else reacted
// meanwhile.
func TestClearRoomOneUserKeepsLaterReactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	other := newStore(t) // another function, reacting while the clear runs
	room := unique(t, "room")
	alice, bob, dave := unique(t, "alice"), unique(t, "bob"), unique(t, "dave")
	m1 := send(t, other, room, bob, "b1", "").ID
	m2 := send(t, other, room, bob, "b2", "").ID
	m3 := send(t, other, room, bob, "b3", "").ID
	react(t, other, room, m1, alice, "👍", true)
	react(t, other, room, m1, alice, "🎉", true)
	react(t, other, room, m2, alice, "👍", true)
	react(t, other, room, m3, alice, "❤️", true)

	hook := &updateHook{API: local.client}
	hook.before = func() {
		// After the refresh: alice takes 🎉 back and gives it again (the
		// set looks as before, but the reaction is new), dave reacts to
		// m2, and m3 is deleted by its author.
		react(t, other, room, m1, alice, "🎉", false)
		react(t, other, room, m1, alice, "🎉", true)
		react(t, other, room, m2, dave, "😮", true)
		if _, err := other.DeleteMessage(ctx, room, m3, bob); err != nil {
			t.Errorf("DeleteMessage: %v", err)
		}
	}
	st, err := dynamo.New(hook, testTable, dynamo.WithLogger(quiet))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := st.ClearRoom(ctx, room, alice); err != nil {
		t.Fatalf("ClearRoom(%s): %v", alice, err)
	}
	want := map[int64]map[string][]string{
		m1: {"🎉": {alice}},
		m2: {"😮": {dave}},
	}
	if got := reactionsOf(t, st, room); !maps.EqualFunc(got, want, equalReactions) {
		t.Fatalf("reactions = %v, want %v", got, want)
	}
}
