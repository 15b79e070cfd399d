package dynamo_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// fill appends n messages to room.
func fill(b *testing.B, st *dynamo.Store, room string, n int) {
	b.Helper()
	for i := range n {
		if _, _, err := st.AppendMessage(context.Background(), chat.Message{
			Room: room, User: "alice", Text: "message " + strconv.Itoa(i), HTML: "message " + strconv.Itoa(i),
		}); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
}

// BenchmarkAppendMessage measures one uncontended send against DynamoDB
// Local from a warm store, and reports the DynamoDB calls per send.
func BenchmarkAppendMessage(b *testing.B) {
	api := &countingAPI{next: local.client, calls: map[string]int{}}
	st, err := dynamo.New(api, testTable, dynamo.WithLogger(quiet))
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	room := unique(b, "room")
	ctx := context.Background()
	fill(b, st, room, 1)
	api.take()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := st.AppendMessage(ctx, chat.Message{
			Room: room, User: "alice", Text: "hello", HTML: "hello",
			ClientID: "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+i), 10),
		}); err != nil {
			b.Fatalf("AppendMessage: %v", err)
		}
	}
	reportCalls(b, api.take())
}

// reportCalls reports the DynamoDB calls per operation, in total and of
// each kind.
func reportCalls(b *testing.B, calls map[string]int) {
	total := 0
	for op, n := range calls {
		total += n
		b.ReportMetric(float64(n)/float64(b.N), op+"/op")
	}
	b.ReportMetric(float64(total)/float64(b.N), "calls/op")
}

// BenchmarkAppendMessageContended measures sends of parallel writers on one
// room, where every lost race costs a retry.
func BenchmarkAppendMessageContended(b *testing.B) {
	api := &countingAPI{next: local.client, calls: map[string]int{}}
	st, err := dynamo.New(api, testTable, dynamo.WithLogger(quiet))
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	room := unique(b, "room")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := st.AppendMessage(context.Background(), chat.Message{Room: room, User: "alice", Text: "hi"}); err != nil {
				b.Errorf("AppendMessage: %v", err)
				return
			}
		}
	})
	reportCalls(b, api.take())
}

// BenchmarkMessages measures the newest page of 20 of a room of 500
// messages, and an older page.
func BenchmarkMessages(b *testing.B) {
	st := newStore(b)
	room := unique(b, "room")
	fill(b, st, room, 500)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		before int64
	}{{"newest", 0}, {"older", 250}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := st.Messages(ctx, room, bc.before, 20)
				if err != nil || len(page.Messages) != 20 {
					b.Fatalf("Messages = %d messages, %v", len(page.Messages), err)
				}
			}
		})
	}
}

// BenchmarkEventsAfter measures a resume that reads 50 events and the head.
func BenchmarkEventsAfter(b *testing.B) {
	st := newStore(b)
	room := unique(b, "room")
	fill(b, st, room, 100)
	ctx := context.Background()
	for b.Loop() {
		evs, last, err := st.EventsAfter(ctx, room, 50, 100)
		if err != nil || len(evs) != 50 || last != 100 {
			b.Fatalf("EventsAfter = %d events, last %d, %v", len(evs), last, err)
		}
	}
}
