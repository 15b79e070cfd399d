package render_test

import (
	"strings"
	"testing"

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

// BenchmarkRendererHTML measures rendering one message's text to sanitised
// HTML (goldmark + bluemonday), the bulk of a send's CPU.
func BenchmarkRendererHTML(b *testing.B) {
	r := render.New(true)
	for _, bc := range benchTexts {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.HTML(bc.text); err != nil {
					b.Fatalf("HTML: %v", err)
				}
			}
		})
	}
}

// BenchmarkRendererFilter measures the profanity filter on a text, which a
// send runs before rendering.
func BenchmarkRendererFilter(b *testing.B) {
	r := render.New(true)
	for _, bc := range benchTexts {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Filter(bc.text)
			}
		})
	}
}
