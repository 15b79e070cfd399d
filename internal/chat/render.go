package chat

import (
	"bytes"
	"fmt"
	"strings"

	goaway "github.com/TwiN/go-away"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Renderer turns message text into safe HTML: inline markdown (emphasis,
// strong, strikethrough, code, links, bare URLs, line breaks), with raw HTML
// shown as text and the result sanitised by an allow-list. It is safe for
// concurrent use.
type Renderer struct {
	md        goldmark.Markdown
	policy    *bluemonday.Policy
	profanity *goaway.ProfanityDetector
}

// NewRenderer builds a Renderer. With filterProfanity, swear words are
// masked with asterisks in the stored text before rendering, as the
// original app does.
func NewRenderer(filterProfanity bool) *Renderer {
	// Only paragraphs: headings, lists, quotes, code blocks, tables and
	// thematic breaks are block markdown that has no place in a chat line.
	// The raw HTML inline parser is left out on purpose, so "<b>" is text.
	p := parser.NewParser(
		parser.WithBlockParsers(util.Prioritized(parser.NewParagraphParser(), 1000)),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewLinkParser(), 200),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
		),
		parser.WithParagraphTransformers(util.Prioritized(parser.LinkReferenceParagraphTransformer, 100)),
	)
	md := goldmark.New(
		goldmark.WithParser(p),
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
		goldmark.WithRendererOptions(html.WithHardWraps()),
	)

	policy := bluemonday.NewPolicy()
	policy.AllowElements("p", "br", "em", "strong", "del", "code")
	policy.AllowAttrs("href").OnElements("a")
	policy.AllowURLSchemes("http", "https", "mailto")
	policy.RequireParseableURLs(true)
	policy.RequireNoFollowOnLinks(true)
	policy.RequireNoReferrerOnLinks(true)
	policy.AddTargetBlankToFullyQualifiedLinks(true)

	r := &Renderer{md: md, policy: policy}
	if filterProfanity {
		r.profanity = goaway.NewProfanityDetector().WithSanitizeSpecialCharacters(false)
	}
	return r
}

// Filter masks profanity in text when the filter is on, and returns text
// unchanged otherwise.
func (r *Renderer) Filter(text string) string {
	if r.profanity == nil {
		return text
	}
	return r.profanity.Censor(text)
}

// HTML renders text as sanitised inline HTML. A single paragraph comes back
// without its <p> wrapper.
func (r *Renderer) HTML(text string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(text), &buf); err != nil {
		return "", fmt.Errorf("chat: render markdown: %w", err)
	}
	out := strings.TrimSpace(r.policy.Sanitize(buf.String()))
	if inner, ok := strings.CutPrefix(out, "<p>"); ok {
		if inner, ok = strings.CutSuffix(inner, "</p>"); ok && !strings.Contains(inner, "<p>") {
			out = inner
		}
	}
	return out, nil
}
