package sse_test

import (
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// messageJSON is a typical message event's data: the message JSON of a
// short chat line with rendered HTML.
const messageJSON = `{"id":1234,"room":"devops-bcn","user":"alice","text":"Hello **world**, see https://example.com","html":"Hello <strong>world</strong>, see <a href=\"https://example.com\" rel=\"nofollow noreferrer\" target=\"_blank\">https://example.com</a>","sentAt":"2026-01-01T00:00:00.123Z","clientId":"8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a6b"}`

// BenchmarkEncode measures encoding one SSE frame: a typical message event,
// a payload of many lines (every line becomes its own data: line) and the
// largest message (500 characters of text, rendered twice in the JSON).
func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		name string
		ev   sse.Event
	}{
		{"message", sse.Event{ID: "1234", Type: "message", Data: []byte(messageJSON)}},
		{"multiline-50", sse.Event{ID: "1234", Type: "message", Data: []byte(strings.Repeat("line of text\r\n", 50))}},
		{"max-message", sse.Event{ID: "1234", Type: "message", Data: []byte(`{"text":"` + strings.Repeat("x", 500) + `","html":"` + strings.Repeat("x", 500) + `"}`)}},
	}
	for _, bc := range cases {
		b.Run(bc.name+"/Encode", func(b *testing.B) {
			b.SetBytes(int64(len(bc.ev.Data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.ev.Encode(); err != nil {
					b.Fatalf("Encode: %v", err)
				}
			}
		})
		b.Run(bc.name+"/Append-reused", func(b *testing.B) {
			b.SetBytes(int64(len(bc.ev.Data)))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = bc.ev.Append(buf[:0]); err != nil {
					b.Fatalf("Append: %v", err)
				}
			}
		})
	}
}
