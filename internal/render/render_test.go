package render_test

import (
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/render"
)

func TestRenderer(t *testing.T) {
	t.Parallel()
	r := render.New(false)
	tests := []struct{ name, in, want string }{
		{"emphasis", "hello *world*", "hello <em>world</em>"},
		{"strong del", "**b** ~~d~~", "<strong>b</strong> <del>d</del>"},
		{"code escapes", "`<b>`", "<code>&lt;b&gt;</code>"},
		{"raw html is text", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"script is text", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"javascript link dropped", "[x](javascript:alert(1))", "x"},
		{"data link dropped", "[x](data:text/html;base64,PHNjcmlwdD4=)", "x"},
		{"safe link", "[ok](https://example.com)", `<a href="https://example.com" rel="nofollow noreferrer noopener" target="_blank">ok</a>`},
		{"bare url", "see https://example.com", `see <a href="https://example.com" rel="nofollow noreferrer noopener" target="_blank">https://example.com</a>`},
		{"line break", "a\nb", "a<br>\nb"},
		{"no headings", "# h", "# h"},
		{"no lists", "- item", "- item"},
		{"quotes escaped", `"a" & 'b'`, "&#34;a&#34; &amp; &#39;b&#39;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.HTML(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("HTML(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestProfanityFilter(t *testing.T) {
	t.Parallel()
	if got := render.New(true).Filter("well shit"); got != "well ****" {
		t.Fatalf("filter on: %q", got)
	}
	if got := render.New(false).Filter("well shit"); got != "well shit" {
		t.Fatalf("filter off: %q", got)
	}
}

func TestProfanityFilterJudgesWholeWords(t *testing.T) {
	t.Parallel()
	r := render.New(true)
	tests := []struct{ in, want string }{
		{"assessment, sextant, Essex, title, class", "assessment, sextant, Essex, title, class"},
		{"ASS and asses", "*** and *****"},
		{"(fucking) bullshit.", "(*******) ********."},
		{"sh1t  happens\nshit", "****  happens\n****"},
		{"see https://example.com/shit/page now", "see https://example.com/shit/page now"},
	}
	for _, tc := range tests {
		if got := r.Filter(tc.in); got != tc.want {
			t.Errorf("Filter(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestImagesRenderAsLinks(t *testing.T) {
	t.Parallel()
	r := render.New(false)
	for in, want := range map[string]string{
		"![img](https://example.com/x.png)": `<a href="https://example.com/x.png" rel="nofollow noreferrer noopener" target="_blank">img</a>`,
		"![](https://example.com/x.png)":    `<a href="https://example.com/x.png" rel="nofollow noreferrer noopener" target="_blank">https://example.com/x.png</a>`,
		"[![a](x)](https://b.example)":      `<a href="https://b.example" rel="nofollow noreferrer noopener" target="_blank">a</a>`,
		"![x](javascript:alert(1))":         "x",
	} {
		got, err := r.HTML(in)
		if err != nil || got != want {
			t.Errorf("HTML(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRenderMasksThenRenders(t *testing.T) {
	t.Parallel()
	shown, html, err := render.New(true).Render("*well* shit")
	if err != nil {
		t.Fatal(err)
	}
	if shown != "*well* ****" || html != "<em>well</em> ****" {
		t.Fatalf("Render = %q, %q", shown, html)
	}
	shown, _, err = render.New(false).Render("well shit")
	if err != nil || shown != "well shit" {
		t.Fatalf("Render without filter = %q, %v", shown, err)
	}
}
