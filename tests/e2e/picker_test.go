package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focused is a JavaScript expression naming the focused element: the emoji
// of a picker button, "add" for the button that opens the picker, else its
// tag name.
const focused = `(() => {
	const el = document.activeElement;
	if (el?.dataset?.emoji && el.closest('.react-picker')) return el.dataset.emoji;
	if (el?.classList?.contains('react-add')) return 'add';
	return el?.tagName ?? '';
})()`

// pickerOpen is a JavaScript expression: whether the first message's
// picker is shown.
const pickerOpen = `!document.querySelector('#messages > li.msg .react-picker').hidden`

// key presses one key (a kb constant or a character) with real key events
// and waits until the focus is on want.
func (tb *tab) key(k, want string) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(k))
	tb.waitFor(fmt.Sprintf(`%s === %q`, focused, want), fmt.Sprintf("the focus on %s", want))
}

// TestReactionPickerKeyboard: the reaction picker is a toolbar driven by
// the keyboard alone. Enter, Space, Down or Up on its button opens it with
// the focus on an emoji; the arrows move the focus round the six emoji,
// Home and End to the ends, with one emoji at a time in the tab order;
// Enter or Space chooses and Escape closes, each giving the focus back to
// the button; an edit that re-renders the message keeps the picker open
// and the focus where it was.
func TestReactionPickerKeyboard(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "picker")
	// An edit and reactions count against the users' limits: fresh users
	// in each run.
	alice, bobName := freshName(t, "alice"), freshName(t, "bob")
	m, err := st.send(ctx, room, alice, "react to me")
	if err != nil {
		t.Fatal(err)
	}
	bob := newTab(t, suite.browser, st, bobName)
	bob.open(st, room)
	bob.waitFor(bodyOf("react to me")+` !== ''`, "alice's message")

	// Enter on the button opens the picker on its first emoji.
	bob.do(chromedp.Focus(chromedp.CSS(`#messages > li.msg .react-add`)))
	bob.waitFor(focused+` === 'add'`, "the focus on the picker's button")
	bob.do(pressEnter(false))
	bob.waitFor(pickerOpen, "the picker to open on Enter")
	bob.waitFor(focused+` === '👍'`, "the focus on the first emoji")
	if got := eval[string](bob, `document.querySelector('#messages > li.msg .react-picker').getAttribute('role')`); got != "toolbar" {
		t.Errorf("picker role = %q, want toolbar", got)
	}

	// The arrows, Home and End move the focus, wrapping at the ends.
	moves := []struct{ key, want string }{
		{kb.ArrowRight, "❤️"}, {kb.ArrowRight, "😂"}, {kb.ArrowLeft, "❤️"},
		{kb.End, "😢"}, {kb.ArrowRight, "👍"}, {kb.ArrowLeft, "😢"},
		{kb.Home, "👍"}, {kb.ArrowDown, "❤️"}, {kb.ArrowDown, "😂"}, {kb.ArrowUp, "❤️"}, {kb.ArrowDown, "😂"},
	}
	for _, mv := range moves {
		bob.key(mv.key, mv.want)
	}
	// Roving tabindex: the focused emoji alone is in the tab order.
	if got := eval[[]string](bob, `[...document.querySelectorAll('#messages > li.msg .react-picker button')].filter(b => b.tabIndex === 0).map(b => b.dataset.emoji)`); len(got) != 1 || got[0] != "😂" {
		t.Errorf("emoji in the tab order = %q, want only 😂", got)
	}

	// alice edits her message: the edit event re-renders it, and the
	// picker stays open with the focus where it was. Keys go only after
	// the edit is shown.
	path := fmt.Sprintf("/room/%s/messages/%d", room, m.ID)
	if b, status, err := st.api(ctx, http.MethodPatch, path, alice, map[string]string{"text": "react to me, edited"}); err != nil || status != http.StatusOK {
		t.Fatalf("edit: %d %s %v", status, b, err)
	}
	bob.waitFor(bodyOf("edited")+` !== ''`, "the edit")
	bob.waitFor(pickerOpen+` && `+focused+` === '😂'`, "the picker open and 😂 focused after the edit")
	bob.key(kb.ArrowRight, "🎉")

	// Enter chooses: the picker closes, the focus is back on its button,
	// and the reaction is counted.
	bob.do(pressEnter(false))
	bob.waitFor(`!(`+pickerOpen+`) && `+focused+` === 'add'`, "the picker to close on Enter, the focus on its button")
	bob.waitFor(reactionCount("🎉")+` === 1`, "bob's 🎉")

	// Space opens it again on the emoji last used, and Space chooses it:
	// bob's 🎉 is taken back.
	bob.do(chromedp.KeyEvent(" "))
	bob.waitFor(pickerOpen+` && `+focused+` === '🎉'`, "the picker to open on Space, on 🎉")
	if got := eval[string](bob, `document.activeElement.getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("bob's 🎉 in the picker: aria-pressed = %s, want true", got)
	}
	bob.do(chromedp.KeyEvent(" "))
	bob.waitFor(`!(`+pickerOpen+`) && `+focused+` === 'add'`, "the picker to close on Space, the focus on its button")
	bob.waitFor(reactionCount("🎉")+` === 0`, "bob's 🎉 taken back")

	// Up on the button opens it on the last emoji; Escape closes it,
	// chooses nothing, and gives the focus back to the button.
	bob.do(chromedp.KeyEvent(kb.ArrowUp))
	bob.waitFor(pickerOpen+` && `+focused+` === '😢'`, "the picker to open on Up, on the last emoji")
	bob.key(kb.Escape, "add")
	bob.waitFor(`!(`+pickerOpen+`)`, "the picker to close on Escape")
	if got := eval[int](bob, reactionCount("😢")); got != 0 {
		t.Errorf("Escape reacted: 😢 count %d", got)
	}

	// Down opens it on the first emoji; Tab leaves it, and closes it.
	bob.do(chromedp.KeyEvent(kb.ArrowDown))
	bob.waitFor(pickerOpen+` && `+focused+` === '👍'`, "the picker to open on Down, on the first emoji")
	bob.do(chromedp.KeyEvent(kb.Tab))
	bob.waitFor(`!(`+pickerOpen+`)`, "the picker to close when the focus leaves it")
}
