package dynamo_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// BenchmarkEditAndReact measures an edit, a reaction (alternately on and
// off, so each changes something) and a replay of 20 events holding 10
// edits, against DynamoDB Local from a warm store, with the DynamoDB calls
// of each. BenchmarkAppendMessage is the baseline of the same run.
func BenchmarkEditAndReact(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*countingAPI, *dynamo.Store, string) {
		api := &countingAPI{next: local.client, calls: map[string]int{}}
		st, err := dynamo.New(api, testTable, dynamo.WithLogger(quiet))
		if err != nil {
			b.Fatalf("New: %v", err)
		}
		room := unique(b, "room")
		fill(b, st, room, 1)
		api.take()
		return api, st, room
	}
	b.Run("edit", func(b *testing.B) {
		api, st, room := setup(b)
		i := 0
		for b.Loop() {
			i++
			text := "edit " + strconv.Itoa(i)
			if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: 1, User: "alice", Text: text, HTML: text,
				ClientID: "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+i), 10)}); err != nil {
				b.Fatalf("EditMessage: %v", err)
			}
		}
		reportCalls(b, api.take())
	})
	b.Run("react", func(b *testing.B) {
		api, st, room := setup(b)
		on := false
		for b.Loop() {
			on = !on
			if _, changed, err := st.React(ctx, chat.Reaction{Room: room, MessageID: 1, User: "bob", Emoji: "👍", On: on}); err != nil || !changed {
				b.Fatalf("React = %v, %v", changed, err)
			}
		}
		reportCalls(b, api.take())
	})
	b.Run("replay-20-with-10-edits", func(b *testing.B) {
		api, st, room := setup(b)
		for i := range 10 {
			fill(b, st, room, 1)
			text := "edit " + strconv.Itoa(i)
			if _, _, err := st.EditMessage(ctx, chat.Edit{Room: room, ID: int64(2 + 2*i), User: "alice", Text: text, HTML: text}); err != nil {
				b.Fatalf("EditMessage: %v", err)
			}
		}
		api.take()
		for b.Loop() {
			if evs, _, err := st.EventsAfter(ctx, room, 1, 50); err != nil || len(evs) != 20 {
				b.Fatalf("EventsAfter = %d events, %v", len(evs), err)
			}
		}
		reportCalls(b, api.take())
	})
	b.Run("replay-20-without-edits", func(b *testing.B) {
		api, st, room := setup(b)
		fill(b, st, room, 20)
		api.take()
		for b.Loop() {
			if evs, _, err := st.EventsAfter(ctx, room, 1, 50); err != nil || len(evs) != 20 {
				b.Fatalf("EventsAfter = %d events, %v", len(evs), err)
			}
		}
		reportCalls(b, api.take())
	})
}
