package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Regression tests of defects found by a red-team run of the page.

// TestIDsRestartAfterWipe: when a room's ids go back to 0 (table recreated,
// in-memory dev stack restarted), the page gets a stream-reset with id 0 on
// its reconnect and must then show the new messages 1, 2, 3… instead of
// taking them for ones it saw before the wipe.
func TestIDsRestartAfterWipe(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "wiped")
	for i := 1; i <= 5; i++ {
		if _, err := st.send(ctx, room, "bob", fmt.Sprintf("before wipe %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, room)
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 5`, "the five messages")

	if err := st.wipeRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := st.stopPushpin(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = st.startPushpin(context.Background())
		}
	})
	alice.waitFor(`document.getElementById('status').dataset.state !== 'live'`, "the indicator to leave live")
	if err := st.startPushpin(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	alice.waitLive()
	// The reconnect answers a stream-reset with id 0: the page reloads the
	// (now empty) history.
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 0`, "the wiped history")
	if !eval[bool](alice, `!document.getElementById('log-empty').hidden`) {
		t.Errorf("the wiped room does not say it has no messages")
	}

	want := []string{"after wipe 1", "after wipe 2", "after wipe 3"}
	for _, text := range want {
		m, err := st.send(ctx, room, "bob", text)
		if err != nil {
			t.Fatal(err)
		}
		if text == want[0] && m.ID != 1 {
			t.Fatalf("first message after the wipe has id %d, want 1 (ids restarted)", m.ID)
		}
	}
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 3`, "the messages sent after the wipe")
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	if got := alice.texts(); !slices.Equal(got, want) {
		t.Errorf("after the wipe alice sees %q, want %q", got, want)
	}
	if got := eval[string](alice, `document.getElementById('status').dataset.state`); got != "live" {
		t.Errorf("indicator is %q, want live", got)
	}
}

// TestLoadMoreAfterShownMessagesDeleted: "Load earlier messages" pages from
// the history's cursor, not from what is left on the page, so it still works
// after every shown message was deleted live; once nothing is left the page
// says so.
func TestLoadMoreAfterShownMessagesDeleted(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	const total = 25
	room := freshRoom(t, "emptied")
	var ids []int64
	var want []string
	for i := 1; i <= total; i++ {
		text := fmt.Sprintf("emptied %02d", i)
		m, err := st.send(ctx, room, "alice", text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		want = append(want, text)
	}
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, room)
	shown := len(alice.texts())
	if shown == 0 || shown >= total {
		t.Fatalf("first page shows %d messages, want some but not all %d", shown, total)
	}
	deleteAll := func(ids []int64) {
		t.Helper()
		for _, id := range ids {
			if _, status, err := st.api(ctx, http.MethodDelete, fmt.Sprintf("/room/%s/messages/%d", room, id), "alice", nil); err != nil || status != http.StatusNoContent {
				t.Fatalf("delete %d: status %d, %v", id, status, err)
			}
		}
	}
	deleteAll(ids[total-shown:])
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 0`, "the shown messages to go")
	if !eval[bool](alice, `!document.getElementById('load-more').hidden && document.getElementById('log-empty').hidden`) {
		t.Errorf("with older messages left the page must offer to load them, not say the room is empty")
	}

	alice.do(chromedp.Click(chromedp.ID("load-more")))
	alice.waitFor(fmt.Sprintf(`document.querySelectorAll('#messages > li').length === %d`, total-shown), "the older messages")
	if got := alice.texts(); !slices.Equal(got, want[:total-shown]) {
		t.Errorf("after load more: %q, want %q", got, want[:total-shown])
	}
	if !eval[bool](alice, `document.getElementById('load-more').hidden && document.getElementById('log-empty').hidden`) {
		t.Errorf("with the oldest message shown: load more must hide and the room is not empty")
	}

	deleteAll(ids[:total-shown])
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 0`, "the last messages to go")
	if !eval[bool](alice, `!document.getElementById('log-empty').hidden && document.getElementById('load-more').hidden`) {
		t.Errorf("an emptied room must say it has no messages")
	}
}

// TestComposerCountsCodePoints: the 500-character limit counts characters
// (code points) as the server does, not UTF-16 units, and pasted text over
// the limit is kept, flagged and not sendable, never cut.
func TestComposerCountsCodePoints(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "composer"))
	insert := func(text string) {
		t.Helper()
		alice.do(
			chromedp.Focus(chromedp.ID("input")),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.execCommand('insertText', false, %q)`, text)),
		)
	}
	state := func() string {
		t.Helper()
		return eval[string](alice, `(() => {
			const i = document.getElementById('input'), c = document.getElementById('counter');
			return [...i.value].length + ' chars, counter ' + (c.hidden ? 'hidden' : c.textContent) +
				(c.classList.contains('at-limit') ? ' at-limit' : '') +
				', send ' + (document.getElementById('send').disabled ? 'disabled' : 'enabled');
		})()`)
	}

	insert(strings.Repeat("😀", 300))
	if got, want := state(), "300 chars, counter hidden, send enabled"; got != want {
		t.Errorf("300 emoji: %s, want %s", got, want)
	}
	insert(strings.Repeat("a", 150))
	if got, want := state(), "450 chars, counter 450 / 500, send enabled"; got != want {
		t.Errorf("450 characters: %s, want %s", got, want)
	}
	insert(strings.Repeat("b", 100)) // as a paste past the limit
	if got, want := state(), "550 chars, counter 550 / 500 at-limit, send disabled"; got != want {
		t.Errorf("550 characters: %s, want %s", got, want)
	}
	before := len(st.faults.postedClientIDs())
	alice.do(chromedp.Focus(chromedp.ID("input")), pressEnter(false))
	time.Sleep(300 * time.Millisecond)
	if n := len(st.faults.postedClientIDs()) - before; n != 0 {
		t.Errorf("Enter posted %d messages over the limit", n)
	}
	if n := eval[int](alice, `[...document.getElementById('input').value].length`); n != 550 {
		t.Errorf("Enter over the limit left %d characters, want the 550 kept", n)
	}

	// Back to exactly 500 characters (250 of them emoji): sendable.
	alice.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.getElementById('input');
		i.focus();
		i.setSelectionRange(0, i.value.length);
		document.execCommand('insertText', false, '😀'.repeat(250) + 'c'.repeat(250));
	})()`))
	if got, want := state(), "500 chars, counter 500 / 500 at-limit, send enabled"; got != want {
		t.Errorf("500 characters: %s, want %s", got, want)
	}
	alice.do(pressEnter(false))
	alice.waitFor(`document.querySelectorAll('#messages > li:not([data-pending])').length === 1 && document.getElementById('input').value === ''`,
		"the 500-character message to be sent")
	if got := eval[int](alice, `[...document.querySelector('#messages > li .body').innerText.trim()].length`); got != 500 {
		t.Errorf("the sent message shows %d characters, want 500", got)
	}
}

// TestComposerHasNoScrollbarForShortText: the textarea fits one line (and a
// few) without a scrollbar; only past its maximum height does it scroll.
func TestComposerHasNoScrollbarForShortText(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "autosize"))
	const fits = `(i => i.scrollHeight <= i.clientHeight)(document.getElementById('input'))`
	const sizes = `(i => 'scrollHeight ' + i.scrollHeight + ', clientHeight ' + i.clientHeight + ', offsetHeight ' + i.offsetHeight)(document.getElementById('input'))`
	if !eval[bool](alice, fits) {
		t.Errorf("empty textarea overflows: %s", eval[string](alice, sizes))
	}
	alice.do(chromedp.Focus(chromedp.ID("input")), chromedp.SendKeys(chromedp.ID("input"), "hi"))
	if !eval[bool](alice, fits) {
		t.Errorf("one-line textarea overflows: %s", eval[string](alice, sizes))
	}
	h1 := eval[float64](alice, `document.getElementById('input').offsetHeight`)
	alice.do(pressEnter(true), chromedp.SendKeys(chromedp.ID("input"), "two"), pressEnter(true), chromedp.SendKeys(chromedp.ID("input"), "three"))
	if !eval[bool](alice, fits) {
		t.Errorf("three-line textarea overflows: %s", eval[string](alice, sizes))
	}
	if h3 := eval[float64](alice, `document.getElementById('input').offsetHeight`); h3 <= h1 {
		t.Errorf("textarea did not grow for three lines: %v then %v px", h1, h3)
	}
	for i := 0; i < 12; i++ {
		alice.do(pressEnter(true), chromedp.SendKeys(chromedp.ID("input"), "more"))
	}
	if eval[bool](alice, fits) {
		t.Errorf("fifteen lines fit without scrolling, want the textarea capped: %s", eval[string](alice, sizes))
	}
	if got := eval[string](alice, `getComputedStyle(document.getElementById('input')).overflowY`); got != "auto" {
		t.Errorf("capped textarea has overflow-y %q, want auto so it scrolls", got)
	}
}

// TestLostAnswerThenLiveMessageClearsError: when the answer of a send is lost
// but the stored message arrives live, the page treats it as sent: no "Not
// sent" error, an empty input, the message once.
func TestLostAnswerThenLiveMessageClearsError(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "unsent"))
	st.faults.loseSendAnswers.Store(true)
	defer st.faults.loseSendAnswers.Store(false)
	before := len(st.faults.postedClientIDs())

	alice.typeAndSend("stored, answer lost")
	alice.waitFor(`document.querySelectorAll('#messages > li:not([data-pending])').length === 1`, "the stored message to arrive live")
	// The lost answer fails the request around the same time; give it a moment.
	time.Sleep(500 * time.Millisecond)
	alice.waitFor(`document.getElementById('send-error').hidden && document.getElementById('input').value === ''`,
		"the error to clear and the input to empty")
	if got := alice.texts(); !slices.Equal(got, []string{"stored, answer lost"}) {
		t.Errorf("alice sees %q, want the message once", got)
	}
	if posts := st.faults.postedClientIDs()[before:]; len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
}
