// Package render turns the text of a chat message into what the send
// function stores and publishes: the text with profanity masked (when the
// filter is on) and its inline markdown rendered to sanitised HTML. Only the
// send function links it; history and stream serve what send stored.
package render

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	goaway "github.com/TwiN/go-away"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
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

// New builds a Renderer. With filterProfanity, swear words are
// masked with asterisks in the stored text before rendering, as the
// original app does.
func New(filterProfanity bool) *Renderer {
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
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(imagesAsLinks{}, 100))),
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
// unchanged otherwise. It judges whole words (runs of letters and digits),
// so words that merely contain a swear word ("assessment", "Essex") stay
// intact, and it leaves links alone so they keep working; a masked word
// keeps its length.
func (r *Renderer) Filter(text string) string {
	if r.profanity == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for len(text) > 0 {
		// Alternate runs of space and non-space; a non-space run that is a
		// link is copied as it is.
		i := strings.IndexFunc(text, func(c rune) bool { return !unicode.IsSpace(c) })
		if i < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		text = text[i:]
		j := strings.IndexFunc(text, unicode.IsSpace)
		if j < 0 {
			j = len(text)
		}
		if tok := text[:j]; strings.Contains(tok, "://") || strings.HasPrefix(strings.ToLower(tok), "www.") {
			b.WriteString(tok)
		} else {
			r.filterWords(&b, tok)
		}
		text = text[j:]
	}
	return b.String()
}

// filterWords writes tok to b with its profane words masked.
func (r *Renderer) filterWords(b *strings.Builder, tok string) {
	isWord := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }
	for len(tok) > 0 {
		i := strings.IndexFunc(tok, isWord)
		if i < 0 {
			b.WriteString(tok)
			return
		}
		b.WriteString(tok[:i])
		tok = tok[i:]
		j := strings.IndexFunc(tok, func(c rune) bool { return !isWord(c) })
		if j < 0 {
			j = len(tok)
		}
		if w := tok[:j]; r.profane(w) {
			b.WriteString(strings.Repeat("*", utf8.RuneCountInString(w)))
		} else {
			b.WriteString(w)
		}
		tok = tok[j:]
	}
}

// profane reports whether one word is a swear word. The detector finds
// swear words inside words, which would mask "assessment" and "Essex"; so a
// short find (ass, sex, tit) counts only as the whole word or its plural,
// while a longer one (four letters and more) counts inside compounds and
// inflections too ("bullshit", "fucking").
func (r *Renderer) profane(word string) bool {
	found := r.profanity.ExtractProfanity(word)
	if found == "" {
		return false
	}
	if utf8.RuneCountInString(found) >= 4 {
		return true
	}
	switch strings.ToLower(word) {
	case found, found + "s", found + "es":
		return true
	}
	return false
}

// Render returns text with profanity masked (when the filter is on) and that
// masked text rendered as sanitised inline HTML: what a message stores in
// its Text and HTML. It implements chat.Renderer.
func (r *Renderer) Render(text string) (shown, rendered string, err error) {
	shown = r.Filter(text)
	if rendered, err = r.HTML(shown); err != nil {
		return "", "", err
	}
	return shown, rendered, nil
}

// HTML renders text as sanitised inline HTML. A single paragraph comes back
// without its <p> wrapper.
func (r *Renderer) HTML(text string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(text), &buf); err != nil {
		return "", fmt.Errorf("render: markdown: %w", err)
	}
	out := strings.TrimSpace(r.policy.Sanitize(buf.String()))
	if inner, ok := strings.CutPrefix(out, "<p>"); ok {
		if inner, ok = strings.CutSuffix(inner, "</p>"); ok && !strings.Contains(inner, "<p>") {
			out = inner
		}
	}
	return out, nil
}

// imagesAsLinks turns every image into a link to it: a chat shows no remote
// images (the page's CSP would block them anyway), and a dropped image would
// leave an empty message or an empty, invisible link.
type imagesAsLinks struct{}

// Transform implements parser.ASTTransformer.
func (imagesAsLinks) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			images = append(images, img)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString(img.Destination))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}
