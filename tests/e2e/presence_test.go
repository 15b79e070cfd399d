package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// presenceWait is how long someone who left usually takes to expire: the
// test stack's PRESENCE_TTL (testPresenceTTL) after their last refresh,
// with a margin. Waits end as soon as the page shows it.
const presenceWait = 90 * time.Second

// waitWithin polls a JavaScript predicate until it is true: usually within
// d, and for testkit.Patience, so a loaded machine is not a failure.
func (tb *tab) waitWithin(predicate, what string, usual time.Duration) {
	tb.t.Helper()
	d := testkit.Patience(tb.t, usual)
	ctx, cancel := context.WithTimeout(tb.ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		tb.t.Fatalf("%s's page: waiting for %s: %v\npresence: %s | typing: %s", tb.name(), what, err,
			tb.evalString(`document.getElementById('presence')?.innerText`), tb.evalString(`document.getElementById('typing')?.innerText`))
	}
}

// here returns the count in the header and the entries of the panel.
func (tb *tab) here() (string, []string) {
	tb.t.Helper()
	count := eval[string](tb, `document.getElementById('presence-count').textContent`)
	names := eval[[]string](tb, `[...document.querySelectorAll('#presence-list li')].map(li => li.textContent)`)
	return count, names
}

// waitHere waits until the header counts n and the panel lists want.
func (tb *tab) waitHere(n int, want []string, d time.Duration) {
	tb.t.Helper()
	js := `(() => { const c = document.getElementById('presence-count');
		const names = [...document.querySelectorAll('#presence-list li')].map(li => li.textContent);
		return !document.getElementById('presence').hidden && c.dataset.count === '` + strconv.Itoa(n) + `' &&
			JSON.stringify(names) === '` + jsonList(want) + `'; })()`
	tb.waitWithin(js, "the presence panel to show "+jsonList(want), d)
}

func jsonList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += `"` + v + `"`
	}
	return out + "]"
}

// leave closes the room page (the tab stays, on a blank page): its stream
// ends, and nothing refreshes its presence any more.
func (tb *tab) leave() {
	tb.t.Helper()
	tb.do(chromedp.Navigate("about:blank"))
}

// typingInFlight is a script run in each of a tab's pages before its own
// scripts: window.typingInFlight counts the typing signals the page has
// sent and not yet had answered.
const typingInFlight = `(() => {
	const send = window.fetch;
	window.typingInFlight = 0;
	window.fetch = function (url, init) {
		if (!String(url).endsWith('/typing')) {
			return send.apply(this, arguments);
		}
		window.typingInFlight++;
		return send.apply(this, arguments).finally(() => { window.typingInFlight--; });
	};
})()`

// countTyping makes the pages tb opens from now on count their typing
// signals in flight (typingInFlight).
func (tb *tab) countTyping() {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: typingInFlight})
		if err != nil {
			return fmt.Errorf("add the typing counter: %w", err)
		}
		return nil
	}))
}

// typingAnswered waits until every typing signal tb's page sent has been
// answered, so published: each keystroke may send one (one per 3 s at most,
// which a slow machine's keystrokes can span), and one still on its way
// when the next signal or message goes could reach the others after it.
func (tb *tab) typingAnswered() {
	tb.t.Helper()
	tb.waitFor(`window.typingInFlight === 0`, "the typing signals to be answered")
}

// typing returns the typing line, "" when hidden.
func (tb *tab) typing() string {
	return eval[string](tb, `(() => { const el = document.getElementById('typing'); return el.hidden ? '' : el.textContent; })()`)
}

// TestPresenceAndTyping: with three visitors in a room — ana, bob (in two
// tabs) and a guest — everyone sees the same count and names, the guest
// counted but not named and bob once; bob typing shows on ana's page and
// clears when he sends, and again when he empties the box; when bob and the
// guest leave, ana's page drops them once their presence expires.
func TestPresenceAndTyping(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	room := freshRoom(t, "presence")
	ana := newTab(t, suite.browser, st, "ana")
	ana.open(st, room)
	ana.waitHere(1, []string{"ana"}, 30*time.Second)
	if count, _ := ana.here(); count != "1 here" {
		t.Errorf("ana's header says %q, want \"1 here\"", count)
	}
	if self := eval[bool](ana, `document.querySelector('#presence-list li.self')?.textContent === 'ana'`); !self {
		t.Error("ana's own entry is not marked as hers")
	}

	bob := newTab(t, suite.browser, st, "bob")
	bob.countTyping()
	bob.open(st, room)
	bob.waitHere(2, []string{"ana", "bob"}, 30*time.Second)
	ana.waitHere(2, []string{"ana", "bob"}, 30*time.Second)

	guest := newTab(t, suite.browser, st, "")
	guest.open(st, room)
	guest.waitHere(3, []string{"ana", "bob", "1 guest"}, 30*time.Second)
	ana.waitHere(3, []string{"ana", "bob", "1 guest"}, 30*time.Second)

	// bob's second tab: still three.
	bob2 := newTab(t, suite.browser, st, "bob")
	bob2.open(st, room)
	bob2.waitHere(3, []string{"ana", "bob", "1 guest"}, 30*time.Second)

	// bob types: ana and the guest see it, bob does not see himself.
	bob.do(chromedp.Focus(chromedp.ID("input")), chromedp.SendKeys(chromedp.ID("input"), "hello ana"))
	ana.waitWithin(`document.getElementById('typing').textContent === 'bob is typing…' && !document.getElementById('typing').hidden`,
		"bob is typing", 30*time.Second)
	guest.waitWithin(`document.getElementById('typing').textContent === 'bob is typing…'`, "bob is typing (guest)", 30*time.Second)
	// Screenshot of the room with its visitors, panel open, bob typing.
	ana.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('presence').open = true`))
	shot(t, ana, freshName(t, "room-presence")+".png")
	ana.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('presence').open = false`))
	if got := bob.typing(); got != "" {
		t.Errorf("bob's own page says %q", got)
	}
	// He sends: his message clears it.
	bob.typingAnswered()
	bob.do(pressEnter(false))
	ana.waitFor(`[...document.querySelectorAll('#messages > li .body')].some(b => b.innerText.trim() === 'hello ana')`, "bob's message")
	if got := ana.typing(); got != "" {
		t.Errorf("after bob's message ana's page still says %q", got)
	}
	// He starts again and empties the box: typing, then stopped.
	bob.do(chromedp.SendKeys(chromedp.ID("input"), "one more"))
	ana.waitWithin(`document.getElementById('typing').textContent === 'bob is typing…' && !document.getElementById('typing').hidden`,
		"bob typing again", 30*time.Second)
	bob.typingAnswered()
	bob.do(chromedp.Evaluate[chromedp.Void](`(() => { const i = document.getElementById('input'); i.value = ''; i.dispatchEvent(new Event('input')); })()`))
	ana.waitWithin(`document.getElementById('typing').hidden`, "bob's typing to clear", 30*time.Second)

	// The guest and both of bob's tabs leave: ana's page drops them when
	// their presence runs out, without anyone telling it.
	guest.leave()
	bob.leave()
	bob2.leave()
	ana.waitHere(1, []string{"ana"}, presenceWait)
	if count, names := ana.here(); count != "1 here" || !slices.Equal(names, []string{"ana"}) {
		t.Errorf("after the others left ana sees %q %q", count, names)
	}
	// ana herself stayed present all along: her own refreshes keep coming.
	ana.waitWithin(`document.getElementById('status').dataset.state === 'live'`, "ana still live", 10*time.Second)
}

// shot writes a screenshot of tb to test-output/name.
func shot(t *testing.T, tb *tab, name string) {
	t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "test-output")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPresenceLapseReopensTheStream: should a proxy stop calling the next
// link (Fanout resetting the link timer on every publish, say), the page
// sees its own presence about to run out and opens its stream again — a new
// hold, which refreshes it — without the visitor noticing. Here the faults
// proxy makes every presence ttl 4 s, shorter than the 5 s link timeout.
func TestPresenceLapseReopensTheStream(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	st.faults.presenceTTL.Store(4)
	t.Cleanup(func() { st.faults.presenceTTL.Store(0) })
	ana := newTab(t, suite.browser, st, "ana")
	before := st.faults.liveStreams.Load()
	ana.open(st, freshRoom(t, "lapse"))
	ana.waitHere(1, []string{"ana"}, 30*time.Second)
	opened := st.faults.liveStreams.Load()
	if opened <= before {
		t.Fatalf("live stream requests %d → %d, want ana's", before, opened)
	}
	// Usually within seconds (the ttl); a loaded machine gets the run's
	// patience.
	patience := testkit.Patience(t, 60*time.Second)
	deadline := time.Now().Add(patience)
	for st.faults.liveStreams.Load() == opened {
		if time.Now().After(deadline) {
			t.Fatalf("ana's page opened no new stream in %v while its presence lapsed; presence: %s",
				patience, ana.evalString(`document.getElementById('presence')?.innerText`))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The page stays live and keeps ana present; back to real ttls, it
	// settles.
	st.faults.presenceTTL.Store(0)
	ana.waitLive()
	ana.waitHere(1, []string{"ana"}, 30*time.Second)
}
