package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// bodyOf is a JavaScript expression: the text of the shown message whose
// text contains needle, or "" when none does.
func bodyOf(needle string) string {
	return fmt.Sprintf(`([...document.querySelectorAll('#messages > li.msg')].map(li => li.querySelector('.body').innerText.trim()).find(t => t.includes(%q)) ?? '')`, needle)
}

// reactionCount is a JavaScript expression: the count on the first
// message's emoji button, 0 when it has none.
func reactionCount(emoji string) string {
	return fmt.Sprintf(`Number(document.querySelector('#messages > li.msg .reaction[data-emoji=%q] .count')?.textContent ?? 0)`, emoji)
}

// editFirstOwn opens the editor of the viewer's first message, replaces
// its text with real keys and presses Enter.
func (tb *tab) editFirstOwn(text string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(`#messages > li.own .edit`)))
	tb.waitFor(`document.querySelector('#messages .editor .edit-input') !== null`, "the editor")
	eval[bool](tb, `(() => { const el = document.querySelector('.edit-input'); el.value = ''; el.focus(); return true; })()`)
	tb.do(
		chromedp.SendKeys(chromedp.CSS(`.edit-input`), text),
		pressEnter(false),
	)
}

// TestEditAndReactionsPropagate: alice edits her message and bob reacts;
// both see it live, after a reload, and after a reconnect that missed an
// edit and a reaction (replayed from Last-Event-ID).
func TestEditAndReactionsPropagate(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "edits")
	// Edits and reactions count against each user's limits: fresh users in
	// each run.
	aliceName, bobName, carolName := freshName(t, "alice"), freshName(t, "bob"), freshName(t, "carol")
	alice := newTab(t, suite.browser, st, aliceName)
	bob := newTab(t, suite.browser, st, bobName)
	alice.open(st, room)
	bob.open(st, room)
	alice.typeAndSend("helo evryone")
	bob.waitFor(bodyOf("helo evryone")+` !== ''`, "alice's message")
	if n := eval[int](bob, `document.querySelectorAll('#messages .edit').length`); n != 0 {
		t.Errorf("bob has %d edit buttons on alice's message", n)
	}

	// Escape leaves the message as it was.
	alice.do(chromedp.Click(chromedp.CSS(`#messages > li.own .edit`)))
	alice.waitFor(`document.querySelector('.edit-input') !== null`, "the editor")
	alice.do(chromedp.KeyEvent("\u001b"))
	alice.waitFor(`document.querySelector('.editor') === null`, "the editor to close on Escape")

	alice.editFirstOwn("hello **everyone**")
	// The editor closes once the page has applied the answer to the edit,
	// which re-renders the message; the edit's own event, which re-renders
	// it again, comes before bob's reaction in the room's order, which
	// alice waits for before she clicks on it.
	alice.waitFor(`document.querySelector('.editor') === null`, "the editor to close once the edit is saved")
	for _, tb := range []*tab{alice, bob} {
		tb.waitFor(bodyOf("hello everyone")+` !== ''`, "the edited text")
		tb.waitFor(`document.querySelector('#messages > li.msg .edited-mark')?.textContent === '(edited)'`, "the edited mark")
		if got := eval[string](tb, `document.querySelector('#messages > li.msg .body strong')?.textContent ?? ''`); got != "everyone" {
			t.Errorf("%s: rendered edit = %q, want <strong>everyone</strong>", tb.name(), got)
		}
	}

	// The picker opens, and closes on Escape.
	bob.do(chromedp.Click(chromedp.CSS(`#messages > li.msg .react-add`)))
	bob.waitFor(`!document.querySelector('#messages > li.msg .react-picker').hidden`, "the picker")
	bob.do(chromedp.KeyEvent("\u001b"))
	bob.waitFor(`document.querySelector('#messages > li.msg .react-picker').hidden`, "the picker to close on Escape")
	// bob reacts from the picker; both see the count; bob's is pressed.
	bob.do(chromedp.Click(chromedp.CSS(`#messages > li.msg .react-add`)))
	bob.do(chromedp.Click(chromedp.CSS(`#messages > li.msg .react-picker button[data-emoji="🎉"]`)))
	for _, tb := range []*tab{alice, bob} {
		tb.waitFor(reactionCount("🎉")+` === 1`, "bob's 🎉")
	}
	if got := eval[string](bob, `document.querySelector('.reaction[data-emoji="🎉"]').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("bob's own reaction aria-pressed = %s", got)
	}
	if got := eval[string](alice, `document.querySelector('.reaction[data-emoji="🎉"]').title`); got != bobName {
		t.Errorf("alice sees who reacted as %q, want %s", got, bobName)
	}
	// alice adds hers by clicking the existing button; bob toggles his off.
	alice.do(chromedp.Click(chromedp.CSS(`.reaction[data-emoji="🎉"]`)))
	bob.waitFor(reactionCount("🎉")+` === 2`, "alice's 🎉 too")
	bob.do(chromedp.Click(chromedp.CSS(`.reaction[data-emoji="🎉"]`)))
	alice.waitFor(reactionCount("🎉")+` === 1`, "bob's 🎉 gone")
	bob.waitFor(`document.querySelector('.reaction[data-emoji="🎉"]')?.getAttribute('aria-pressed') === 'false'`, "bob's button released")

	// A reload shows the same.
	bob.open(st, room)
	bob.waitFor(reactionCount("🎉")+` === 1`, "the reaction after a reload")
	if got := eval[string](bob, bodyOf("everyone")); got != "hello everyone" {
		t.Errorf("after a reload bob sees %q", got)
	}
	if n := eval[int](bob, `document.querySelectorAll('.edited-mark').length`); n != 1 {
		t.Errorf("after a reload: %d edited marks, want 1", n)
	}

	// A reconnect replays what was missed: an edit and a reaction.
	var id int64
	if id = int64(eval[int](bob, `Number(document.querySelector('#messages > li.msg').dataset.id)`)); id == 0 {
		t.Fatal("no message id on the page")
	}
	if err := st.stopPushpin(); err != nil {
		t.Fatalf("stop pushpin: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = st.startPushpin(context.Background())
		}
	})
	bob.waitFor(`document.getElementById('status').dataset.state !== 'live'`, "the indicator to leave live")
	path := fmt.Sprintf("/room/%s/messages/%d", room, id)
	if b, status, err := st.api(ctx, http.MethodPatch, path, aliceName, map[string]string{"text": "hello everyone, edited while bob was away"}); err != nil || status != 200 {
		t.Fatalf("edit while away: %d %s %v", status, b, err)
	}
	if b, status, err := st.api(ctx, http.MethodPut, path+"/reactions", carolName, map[string]any{"emoji": "👍", "on": true}); err != nil || status != 200 {
		t.Fatalf("react while away: %d %s %v", status, b, err)
	}
	if err := st.startPushpin(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	bob.waitLive()
	bob.waitFor(bodyOf("while bob was away")+` !== ''`, "the edit missed while away")
	bob.waitFor(reactionCount("👍")+` === 1`, "the reaction missed while away")
	if got := eval[int](bob, reactionCount("🎉")); got != 1 {
		t.Errorf("after the reconnect 🎉 = %d, want 1", got)
	}
	if got := bob.texts(); len(got) != 1 {
		t.Errorf("after the reconnect bob sees %q, want one message", got)
	}

	// An edit saved elsewhere while alice has the editor open keeps her
	// editor and its text; closing it shows the newest text.
	// alice was cut off too: her page replays the same two events, each of
	// which re-renders the message; click only once both are shown.
	alice.waitLive()
	alice.waitFor(bodyOf("while bob was away")+` !== ''`, "the edit replayed to alice")
	alice.waitFor(reactionCount("👍")+` === 1`, "the reaction replayed to alice")
	alice.do(chromedp.Click(chromedp.CSS(`#messages > li.own .edit`)))
	alice.waitFor(`document.querySelector('.edit-input') !== null`, "the editor")
	eval[bool](alice, `(() => { document.querySelector('.edit-input').value = 'half-typed'; return true; })()`)
	if b, status, err := st.api(ctx, http.MethodPatch, path, aliceName, map[string]string{"text": "saved from another tab"}); err != nil || status != 200 {
		t.Fatalf("edit from another tab: %d %s %v", status, b, err)
	}
	alice.waitFor(`document.querySelector('#messages > li.own .body').textContent.includes('another tab')`, "the other tab's edit")
	if got := eval[string](alice, `document.querySelector('.edit-input')?.value ?? '(gone)'`); got != "half-typed" {
		t.Errorf("editor after another tab's edit holds %q, want half-typed", got)
	}
	alice.do(chromedp.KeyEvent("\u001b"))
	alice.waitFor(`document.querySelector('.editor') === null && !document.querySelector('#messages > li.own .body').hidden`, "the editor to close")
	if got := eval[string](alice, bodyOf("another tab")); got != "saved from another tab" {
		t.Errorf("after closing the editor alice sees %q", got)
	}
}

// hideTab and showTab make the page believe its tab was hidden or shown
// again, as switching tabs does (headless Chromium has no other tab to
// switch to).
func (tb *tab) setHidden(hidden bool) {
	tb.t.Helper()
	state := "visible"
	if hidden {
		state = "hidden"
	}
	eval[bool](tb, fmt.Sprintf(`(() => {
		Object.defineProperty(document, 'hidden', {configurable: true, get: () => %t});
		Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => %q});
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`, hidden, state))
}

// TestUnreadDividerTitleAndMentions: while alice's tab is hidden, the title
// counts bob's messages (not hers); when she comes back a divider marks the
// first one, and the one that @mentions her is highlighted.
func TestUnreadDividerTitleAndMentions(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "unread")
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, room)
	if _, err := st.send(ctx, room, "bob", "before you left"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(bodyOf("before you left")+` !== ''`, "the first message")
	title := eval[string](alice, `document.title`)

	alice.setHidden(true)
	for _, text := range []string{"while you were away", "ping @alice, look at this", "and @alicex is someone else"} {
		if _, err := st.send(ctx, room, "bob", text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.send(ctx, room, "alice", "from my other device"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(`document.querySelectorAll('#messages > li.msg').length === 5`, "the messages sent while hidden")
	if got := eval[string](alice, `document.title`); got != "(3) "+title {
		t.Errorf("title while hidden = %q, want (3) %s", got, title)
	}
	if n := eval[int](alice, `document.querySelectorAll('.unread-divider').length`); n != 0 {
		t.Errorf("%d dividers while hidden, want none yet", n)
	}

	alice.setHidden(false)
	if got := eval[string](alice, `document.title`); got != title {
		t.Errorf("title after return = %q, want %q", got, title)
	}
	next := eval[string](alice, `document.querySelector('.unread-divider')?.nextElementSibling?.querySelector('.body')?.innerText ?? ''`)
	prev := eval[string](alice, `document.querySelector('.unread-divider')?.previousElementSibling?.querySelector('.body')?.innerText ?? ''`)
	if next != "while you were away" || prev != "before you left" {
		t.Errorf("divider between %q and %q, want between before you left and while you were away", prev, next)
	}
	if got := eval[string](alice, `document.querySelector('.unread-divider').textContent`); got != "3 new messages" {
		t.Errorf("divider says %q", got)
	}
	marks := eval[[]string](alice, `[...document.querySelectorAll('#messages li.mentions-me mark.mention')].map(m => m.textContent)`)
	if len(marks) != 1 || marks[0] != "@alice" {
		t.Errorf("mentions highlighted = %q, want exactly @alice", marks)
	}
	if got := eval[string](alice, `document.querySelector('#messages li.mentions-me .body')?.innerText ?? ''`); !strings.Contains(got, "ping @alice") {
		t.Errorf("highlighted message = %q", got)
	}
	// The next time the tab is hidden the old divider goes.
	alice.setHidden(true)
	if n := eval[int](alice, `document.querySelectorAll('.unread-divider').length`); n != 0 {
		t.Errorf("%d dividers after hiding again, want 0", n)
	}
	alice.setHidden(false)
}

// TestRateLimitIsShown: a user who edits faster than the limit sees the
// server's 429 as a clear message, and the editor keeps the text.
func TestRateLimitIsShown(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	room := freshRoom(t, "limits")
	// hasty uses up his burst of edits: a fresh user in each run.
	hasty := newTab(t, suite.browser, st, freshName(t, "hasty"))
	hasty.open(st, room)
	hasty.typeAndSend("first draft")
	hasty.waitFor(`document.querySelector('#messages > li.own:not(.pending)') !== null`, "the message")
	id := eval[int](hasty, `Number(document.querySelector('#messages > li.own').dataset.id)`)
	// Use up the burst of edits (5 in the test stack) from the page itself.
	statuses := eval[[]int](hasty, fmt.Sprintf(`Promise.all([1, 2, 3, 4, 5].map(i => fetch('/room/%s/messages/%d', {
		method: 'PATCH', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({text: 'draft ' + i}),
	}).then(r => r.status)))`, room, id))
	for _, s := range statuses {
		if s != 200 {
			t.Fatalf("edits within the burst answered %v, want all 200", statuses)
		}
	}
	// Each edit re-renders the message when its event arrives; a message
	// from someone else comes after all five in the room's ordered stream,
	// so once it shows, the button clicked next is the one that stays.
	if _, err := st.send(testContext(t), room, "other", "after the edits"); err != nil {
		t.Fatal(err)
	}
	hasty.waitFor(bodyOf("after the edits")+` !== ''`, "the message sent after the edits")
	hasty.editFirstOwn("one edit too many")
	hasty.waitFor(`!document.getElementById('page-error').hidden`, "the error")
	msg := eval[string](hasty, `document.getElementById('page-error').textContent`)
	if !strings.HasPrefix(msg, "Not edited. Too many edits: try again in ") {
		t.Errorf("page says %q", msg)
	}
	if kind := eval[string](hasty, `document.getElementById('page-error').dataset.kind`); kind != "rate-limit" {
		t.Errorf("error kind = %q, want rate-limit", kind)
	}
	if got := eval[string](hasty, `document.querySelector('.edit-input')?.value ?? '(closed)'`); got != "one edit too many" {
		t.Errorf("editor after the 429 holds %q, want the text kept", got)
	}
}
