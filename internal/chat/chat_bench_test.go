package chat_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/render"
)

// benchTexts are message texts from plain to the heaviest a user may send.
var benchTexts = []struct {
	name, text string
}{
	{"plain", "see you at the meetup tonight"},
	{"markdown", "**bold**, *em*, ~~gone~~, `code` and a [link](https://example.com/a?b=c) and https://bare.example.org"},
	{"hostile", `<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(1)</script>`},
	{"max-500", strings.Repeat("word **b** ", 45) + strings.Repeat("x", 5)},
}

// newBenchService is a service on the in-memory fakes that logs nothing.
func newBenchService(b *testing.B, opts ...chat.Option) (*chat.Service, *chattest.Store) {
	b.Helper()
	rooms, err := chat.ParseRooms(chat.DefaultRooms)
	if err != nil {
		b.Fatalf("parse rooms: %v", err)
	}
	store := chattest.NewStore()
	opts = append([]chat.Option{chat.WithLogger(slog.New(slog.DiscardHandler)), chat.WithRenderer(render.New(true))}, opts...)
	svc, err := chat.NewService(store, chattest.NewPublisher(), rooms, opts...)
	if err != nil {
		b.Fatalf("new service: %v", err)
	}
	return svc, store
}

// benchClientID returns a distinct valid client id for i.
func benchClientID(i int) string {
	s := strconv.FormatInt(int64(i), 16)
	return "00000000-0000-4000-8000-" + strings.Repeat("0", 12-len(s)) + s
}

// BenchmarkServiceSend measures the in-process cost of one send without
// I/O: validation, profanity filter, markdown rendering, the store fake's
// append, SSE framing and the publisher fake. "repeat" is a retried send
// (same clientId): validated and rendered, then answered from the store with
// no publish.
func BenchmarkServiceSend(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name   string
		text   string
		opts   []chat.Option
		repeat bool
	}{
		{name: "plain", text: benchTexts[0].text},
		{name: "markdown", text: benchTexts[1].text},
		{name: "max-500", text: benchTexts[3].text},
		{name: "markdown-no-filter", text: benchTexts[1].text, opts: []chat.Option{chat.WithRenderer(render.New(false))}},
		{name: "repeat-clientId", text: benchTexts[1].text, repeat: true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			svc, _ := newBenchService(b, bc.opts...)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				id := n
				if bc.repeat {
					id = 1
				}
				_, created, err := svc.Send(ctx, chat.SendInput{Room: "devops-bcn", User: "alice", Text: bc.text, ClientID: benchClientID(id)})
				if err != nil {
					b.Fatalf("Send: %v", err)
				}
				if want := n == 1 || !bc.repeat; created != want {
					b.Fatalf("Send %d created = %v, want %v", n, created, want)
				}
			}
		})
	}
}

// BenchmarkServiceResume measures the stream function's domain work: a new
// listener (the room's last id only) and a resume that replays 20 events
// and frames them.
func BenchmarkServiceResume(b *testing.B) {
	ctx := context.Background()
	svc, _ := newBenchService(b)
	for i := range 100 {
		if _, _, err := svc.Send(ctx, chat.SendInput{Room: "devops-bcn", User: "alice", Text: benchTexts[1].text, ClientID: benchClientID(i + 1)}); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	for _, bc := range []struct {
		name   string
		after  int64
		events int
	}{{"new-listener", -1, 0}, {"replay-20", 80, 20}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rp, err := svc.Resume(ctx, "devops-bcn", bc.after)
				if err != nil || len(rp.Events) != bc.events || rp.LastID != 100 {
					b.Fatalf("Resume = %d events, last %d, %v", len(rp.Events), rp.LastID, err)
				}
				if _, err := rp.Frames(); err != nil {
					b.Fatalf("Frames: %v", err)
				}
			}
		})
	}
}
