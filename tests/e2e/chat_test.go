package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// The browser tests share one stack and one browser and run one after the
// other: the reconnect test stops Pushpin, which every tab goes through.

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestTwoUsersChatLive(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	bob := newTab(t, suite.browser, st, "bob")
	room := freshRoom(t, "live")
	alice.open(st, room)
	bob.open(st, room)
	assertRoomSwitcherFromAPI(t, alice, room)

	alice.typeAndSend("hello bob")
	bob.waitFor(`document.querySelectorAll('#messages > li').length === 1`, "alice's message")
	alice.waitFor(`!document.querySelector('#messages > li[data-pending]')`, "alice's message to be confirmed")
	if got, want := alice.texts(), []string{"hello bob"}; !slices.Equal(got, want) {
		t.Errorf("alice sees %q, want %q", got, want)
	}
	if got, want := bob.texts(), []string{"hello bob"}; !slices.Equal(got, want) {
		t.Errorf("bob sees %q, want %q", got, want)
	}
	if !eval[bool](alice, `document.querySelector('#messages > li').classList.contains('own')`) {
		t.Errorf("alice's own message is not styled as hers")
	}
	if eval[bool](bob, `document.querySelector('#messages > li').classList.contains('own')`) {
		t.Errorf("alice's message is styled as bob's own on his page")
	}

	// Shift+Enter breaks the line, Enter sends.
	bob.do(
		chromedp.Focus(chromedp.ID("input")),
		chromedp.SendKeys(chromedp.ID("input"), "line one"),
		pressEnter(true),
		chromedp.SendKeys(chromedp.ID("input"), "line two"),
	)
	if v := eval[string](bob, `document.getElementById('input').value`); v != "line one\nline two" {
		t.Fatalf("after Shift+Enter the input is %q", v)
	}
	bob.do(pressEnter(false))
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 2`, "bob's reply")
	bob.waitFor(`!document.querySelector('#messages > li[data-pending]')`, "bob's reply to be confirmed")
	if got := alice.texts(); len(got) != 2 || !strings.Contains(got[1], "line one") || !strings.Contains(got[1], "line two") {
		t.Errorf("alice sees %q, want hello bob then bob's two lines", got)
	}
	if v := eval[string](bob, `document.getElementById('input').value`); v != "" {
		t.Errorf("bob's input keeps %q after sending", v)
	}

	// Any printable key typed outside the input starts a message.
	alice.do(chromedp.Click(chromedp.ID("room-title")), chromedp.KeyEvent("x"))
	if v := eval[string](alice, `document.activeElement.id + ':' + document.getElementById('input').value`); v != "input:x" {
		t.Errorf("typing on the page gives %q, want the key in the focused input", v)
	}
}

// switcherLink is one link of the room switcher as the page shows it.
type switcherLink struct {
	Href    string `json:"href"`
	Name    string `json:"name"`
	Current bool   `json:"current"`
}

// assertRoomSwitcherFromAPI checks that the page rebuilt its room switcher
// from GET /rooms (the marker its script sets after a successful fetch) and
// that the links are exactly the rooms the API lists, with only current
// marked as the current page.
func assertRoomSwitcherFromAPI(t *testing.T, tb *tab, current string) {
	t.Helper()
	b, status, err := suite.stack.api(testContext(t), http.MethodGet, "/rooms", "", nil)
	if err != nil {
		t.Fatalf("get rooms: %v", err)
	}
	if status != http.StatusOK {
		t.Fatalf("get rooms: status %d: %s", status, b)
	}
	var list struct {
		Rooms []struct {
			Slug string `json:"slug"`
			Name string `json:"name"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("decode rooms: %v", err)
	}
	var want []switcherLink
	for _, r := range list.Rooms {
		want = append(want, switcherLink{Href: "/room/" + r.Slug, Name: r.Name, Current: r.Slug == current})
	}
	if len(want) == 0 {
		t.Fatalf("GET /rooms lists no rooms: %s", b)
	}

	tb.waitFor(`document.getElementById('rooms-list')?.dataset.source === 'api'`, "the room switcher to be built from GET /rooms")
	got := eval[[]switcherLink](tb, `[...document.querySelectorAll('#rooms-list > li > a')].map(a => ({
		href: a.getAttribute('href'), name: a.textContent, current: a.getAttribute('aria-current') === 'page'}))`)
	if !slices.Equal(got, want) {
		t.Errorf("room switcher links = %+v, want those of GET /rooms %+v", got, want)
	}
}

func TestComposerLimitAndCounter(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "composer"))
	alice.do(chromedp.Focus(chromedp.ID("input")), chromedp.SendKeys(chromedp.ID("input"), strings.Repeat("a", 350)))
	if eval[bool](alice, `!document.getElementById('counter').hidden`) {
		t.Errorf("counter shown with 150 characters left")
	}
	h1 := eval[float64](alice, `document.getElementById('input').offsetHeight`)
	alice.do(chromedp.SendKeys(chromedp.ID("input"), strings.Repeat("b", 200)))
	if got := eval[string](alice, `document.getElementById('counter').hidden ? 'hidden' : document.getElementById('counter').textContent`); got != "550 / 500" {
		t.Errorf("counter = %q, want 550 / 500", got)
	}
	// Text past the limit is kept (never cut) and cannot be sent.
	if n := eval[int](alice, `document.getElementById('input').value.length`); n != 550 {
		t.Errorf("input holds %d characters, want all 550 typed", n)
	}
	if !eval[bool](alice, `document.getElementById('send').disabled`) {
		t.Errorf("send is enabled past the limit")
	}
	if h2 := eval[float64](alice, `document.getElementById('input').offsetHeight`); h2 <= h1 {
		t.Errorf("textarea did not grow: %v then %v px", h1, h2)
	}
}

func TestLoadMore(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	const total = 45
	room := freshRoom(t, "history")
	var want []string
	for i := 1; i <= total; i++ {
		text := fmt.Sprintf("history %02d", i)
		if _, err := st.send(ctx, room, "carol", text); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, room)
	first := alice.texts()
	if len(first) == 0 || len(first) >= total {
		t.Fatalf("first page shows %d messages, want some but not all %d", len(first), total)
	}
	if !slices.Equal(first, want[total-len(first):]) {
		t.Errorf("first page = %q, want the newest %d oldest first", first, len(first))
	}
	if !eval[bool](alice, `document.getElementById('log').scrollTop + document.getElementById('log').clientHeight >= document.getElementById('log').scrollHeight - 2`) {
		t.Errorf("page did not open scrolled to the newest message")
	}
	for clicks := 0; eval[bool](alice, `!document.getElementById('load-more').hidden`); clicks++ {
		if clicks > total {
			t.Fatal("load more never hides")
		}
		n := len(alice.texts())
		alice.do(chromedp.Click(chromedp.ID("load-more")))
		alice.waitFor(fmt.Sprintf(`document.querySelectorAll('#messages > li').length > %d`, n), "an older page")
	}
	if got := alice.texts(); !slices.Equal(got, want) {
		t.Errorf("after load more: %q, want %q", got, want)
	}
	if !eval[bool](alice, `!document.getElementById('to-bottom').hidden`) {
		t.Errorf("scrolled up, but the scroll-to-bottom button is hidden")
	}
	alice.do(chromedp.Click(chromedp.ID("to-bottom")))
	alice.waitFor(`document.getElementById('to-bottom').hidden`, "the scroll-to-bottom button to hide at the bottom")
}

func TestDeletePropagates(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	bob := newTab(t, suite.browser, st, "bob")
	room := freshRoom(t, "deletes")
	alice.open(st, room)
	bob.open(st, room)
	alice.typeAndSend("keep me")
	alice.typeAndSend("delete me")
	bob.waitFor(`document.querySelectorAll('#messages > li').length === 2`, "alice's messages")
	if n := eval[int](bob, `document.querySelectorAll('#messages .delete').length`); n != 0 {
		t.Errorf("bob has %d delete buttons on alice's messages", n)
	}
	alice.waitFor(`document.querySelectorAll('#messages .delete').length === 2`, "delete buttons on alice's own messages")

	// Cancel first: nothing changes.
	alice.do(chromedp.Click(chromedp.CSS(`#messages > li:last-child .delete`)))
	alice.waitFor(`document.getElementById('confirm-delete').open`, "the confirm dialog")
	alice.do(chromedp.Click(chromedp.CSS(`#confirm-delete button[value=cancel]`)))
	alice.waitFor(`!document.getElementById('confirm-delete').open`, "the dialog to close")
	if got := alice.texts(); len(got) != 2 {
		t.Fatalf("cancel removed a message: %q", got)
	}

	alice.do(chromedp.Click(chromedp.CSS(`#messages > li:last-child .delete`)))
	alice.waitFor(`document.getElementById('confirm-delete').open`, "the confirm dialog")
	alice.do(chromedp.Click(chromedp.ID("confirm-yes")))
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 1`, "the message to go")
	bob.waitFor(`document.querySelectorAll('#messages > li').length === 1`, "the delete to reach bob")
	for _, tb := range []*tab{alice, bob} {
		if got := tb.texts(); !slices.Equal(got, []string{"keep me"}) {
			t.Errorf("%s sees %q, want [keep me]", tb.name(), got)
		}
	}

	// A quick Cancel, then Delete again: the first closing's close event
	// arrives while the dialog is open for the second question, before its
	// answer. The answer must still delete (a loaded browser orders those
	// tasks so on its own).
	alice.typeAndSend("delete me too")
	alice.waitFor(`document.querySelectorAll('#messages .delete').length === 2`, "the new message's delete button")
	deleted := eval[bool](alice, `(async () => {
		const dialog = document.getElementById('confirm-delete');
		let closes = 0;
		dialog.addEventListener('close', () => { closes++; });
		const ask = () => document.querySelector('#messages > li:last-child .delete').click();
		ask();
		dialog.querySelector('button[value=cancel]').click();
		ask();
		while (closes === 0) {
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		if (!dialog.open) {
			return false;
		}
		document.getElementById('confirm-yes').click();
		return true;
	})()`)
	if !deleted {
		t.Fatal("the dialog did not stay open for the second question")
	}
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 1`, "the message asked about twice to go")
	bob.waitFor(`document.querySelectorAll('#messages > li').length === 1`, "that delete to reach bob")
	if got := bob.texts(); !slices.Equal(got, []string{"keep me"}) {
		t.Errorf("bob sees %q, want [keep me]", got)
	}
}

func TestReconnectLosesAndDoublesNothing(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "reconnect")
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, room)
	if _, err := st.send(ctx, room, "bob", "before 1"); err != nil {
		t.Fatal(err)
	}
	gone, err := st.send(ctx, room, "bob", "before 2, deleted while away")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor(`document.querySelectorAll('#messages > li').length === 2`, "the live messages")

	if err := st.stopPushpin(); err != nil {
		t.Fatalf("stop pushpin: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = st.startPushpin(context.Background())
		}
	})
	alice.waitFor(`document.getElementById('status').dataset.state !== 'live'`, "the indicator to leave live")
	if got := eval[string](alice, `document.getElementById('status').textContent`); !strings.Contains(got, "Reconnecting") {
		t.Errorf("indicator says %q while disconnected", got)
	}
	// While alice is cut off: three messages and a delete.
	for i := 1; i <= 3; i++ {
		if _, err := st.send(ctx, room, "bob", fmt.Sprintf("while away %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, status, err := st.api(ctx, "DELETE", fmt.Sprintf("/room/%s/messages/%d", room, gone.ID), "bob", nil); err != nil || status != 204 {
		t.Fatalf("delete while away: status %d, %v", status, err)
	}
	if err := st.startPushpin(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	alice.waitLive()
	// The page applies the replay one event at a time, the delete last: on
	// the way it shows four, then five messages. Only the deleted message
	// gone proves the whole replay applied; the next message, after it in
	// the room's order, then comes after the replay too.
	alice.waitFor(bodyOf("while away 3")+` !== '' && `+bodyOf("deleted while away")+` === ''`, "the missed messages and the delete")
	if _, err := st.send(ctx, room, "bob", "after"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(bodyOf("after")+` !== ''`, "the message after the reconnect")
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	want := []string{"before 1", "while away 1", "while away 2", "while away 3", "after"}
	if got := alice.texts(); !slices.Equal(got, want) {
		t.Errorf("after the reconnect alice sees %q, want %q", got, want)
	}
}

func TestRetryReusesClientID(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "retry"))
	st.faults.failSends.Store(true)
	defer st.faults.failSends.Store(false)
	before := len(st.faults.postedClientIDs())

	alice.typeAndSend("sent twice, stored once")
	alice.waitFor(`!document.getElementById('send-error').hidden`, "the send error")
	if v := eval[string](alice, `document.getElementById('input').value`); v != "sent twice, stored once" {
		t.Errorf("after a failed send the input holds %q", v)
	}
	if got := alice.texts(); len(got) != 0 {
		t.Errorf("after a failed send alice sees %q, want nothing", got)
	}

	st.faults.failSends.Store(false)
	alice.do(chromedp.Click(chromedp.ID("send")))
	alice.waitFor(`document.getElementById('input').value === ''`, "the retry to succeed")
	alice.waitFor(`document.getElementById('send-error').hidden`, "the error to clear")
	alice.waitFor(`document.querySelectorAll('#messages > li:not([data-pending])').length === 1`, "the message to be confirmed")
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	if got := alice.texts(); !slices.Equal(got, []string{"sent twice, stored once"}) {
		t.Errorf("alice sees %q, want the message once", got)
	}
	posts := st.faults.postedClientIDs()[before:]
	if len(posts) != 2 || posts[0] == "" || posts[0] != posts[1] {
		t.Errorf("clientIds of the two posts = %q, want the same UUID twice", posts)
	}
}

// TestBusySendRetriedTransparently: a send answered "busy" (503 with
// Retry-After, the send function's answer to a contended room) twice is
// resent by the page with the same clientId, without an error shown, and
// the message appears once.
func TestBusySendRetriedTransparently(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	alice.open(st, freshRoom(t, "busy"))
	before := len(st.faults.postedClientIDs())
	st.faults.busySends.Store(2)
	defer st.faults.busySends.Store(0)

	alice.typeAndSend("through a busy room")
	alice.waitFor(`document.querySelectorAll('#messages > li:not([data-pending])').length === 1`, "the message to be confirmed")
	if shown := eval[bool](alice, `!document.getElementById('send-error').hidden`); shown {
		t.Errorf("an error was shown for a busy room: %q", alice.evalString(`document.getElementById('send-error').textContent`))
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	if got := alice.texts(); !slices.Equal(got, []string{"through a busy room"}) {
		t.Errorf("alice sees %q, want the message once", got)
	}
	posts := st.faults.postedClientIDs()[before:]
	if len(posts) != 3 || posts[0] == "" || posts[0] != posts[1] || posts[1] != posts[2] {
		t.Errorf("clientIds of the posts = %q, want the same UUID three times (two busy answers, one success)", posts)
	}
	alice.assertClean()
}

func TestXSSPayloadsAreInert(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	alice := newTab(t, suite.browser, st, "alice")
	bob := newTab(t, suite.browser, st, "bob")
	room := freshRoom(t, "xss")
	alice.open(st, room)
	bob.open(st, room)
	payloads := []string{
		`<img src=x onerror=alert(1)>`,
		`[x](javascript:alert(1))`,
		`<script>alert(2)</script>`,
		`**bold** and <a href="javascript:alert(3)">link</a>`,
	}
	for _, p := range payloads {
		alice.typeAndSend(p)
	}
	want := len(payloads)
	for _, tb := range []*tab{alice, bob} {
		tb.waitFor(fmt.Sprintf(`document.querySelectorAll('#messages > li:not([data-pending])').length === %d`, want), "the payloads")
		bad := eval[[]string](tb, `[...document.querySelectorAll('#messages *')].flatMap(el =>
			[...el.attributes].filter(a => /^on/i.test(a.name) ||
				(/^(href|src|action|formaction)$/i.test(a.name) && /^\s*javascript:/i.test(a.value)))
			.map(a => el.tagName + ' ' + a.name + '=' + a.value))`)
		if len(bad) > 0 {
			t.Errorf("%s's page has live attributes from messages: %q", tb.name(), bad)
		}
		if n := eval[int](tb, `document.querySelectorAll('#messages script, #messages img, #messages iframe').length`); n != 0 {
			t.Errorf("%s's page has %d script/img/iframe elements from messages", tb.name(), n)
		}
		if n := eval[int](tb, `document.querySelectorAll('#messages strong').length`); n != 1 {
			t.Errorf("%s's page: markdown bold rendered %d times, want once", tb.name(), n)
		}
	}
	time.Sleep(300 * time.Millisecond) // let any handler that slipped through run
	// newTab's cleanup fails the test on any dialog or CSP report.
}

func TestCSPViolationsAreCaught(t *testing.T) {
	requireSuite(t)
	// The console check of every test must be able to fail: a page that
	// breaks the policy is reported.
	st := suite.stack
	probe := &tab{t: t}
	ctx, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	probe.ctx = ctx
	if err := chromedp.Listen(ctx, probe.onEvent); err != nil {
		t.Fatal(err)
	}
	probe.open(st, freshRoom(t, "guests"))
	eval[bool](probe, `document.body.insertAdjacentHTML('beforeend',
		'<img src="data:," onload="window.ran = 1"><span style="color:red">x</span>'); true`)
	// The report usually arrives within 5 s; a loaded machine gets the run's
	// patience, not a guess.
	deadline := time.Now().Add(testkit.Patience(t, 5*time.Second))
	for time.Now().Before(deadline) {
		if console, _ := probe.problems(); len(console) > 0 {
			if eval[bool](probe, `window.ran === 1`) {
				t.Errorf("inline handler ran despite the CSP")
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("an inline handler and style were not reported as CSP violations")
}

func TestGuestIsReadOnly(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "guests")
	if _, err := st.send(ctx, room, "bob", "hello guests"); err != nil {
		t.Fatal(err)
	}
	guest := newTab(t, suite.browser, st, "")
	guest.open(st, room)
	if got := guest.texts(); !slices.Equal(got, []string{"hello guests"}) {
		t.Errorf("guest sees %q", got)
	}
	if eval[bool](guest, `document.getElementById('composer') !== null`) {
		t.Errorf("guest has a composer")
	}
	if got := eval[string](guest, `document.getElementById('read-only')?.innerText ?? ''`); !strings.Contains(got, "Sign in") {
		t.Errorf("read-only hint = %q, want a sign-in hint", got)
	}
	if _, err := st.send(ctx, room, "bob", "live for guests too"); err != nil {
		t.Fatal(err)
	}
	guest.waitFor(`document.querySelectorAll('#messages > li').length === 2`, "a live message")
	if n := eval[int](guest, `document.querySelectorAll('.delete').length`); n != 0 {
		t.Errorf("guest has %d delete buttons", n)
	}
}

func TestScreenshots(t *testing.T) {
	requireSuite(t)
	st := suite.stack
	ctx := testContext(t)
	room := freshRoom(t, "design")
	// bob's edit counts against his edit limit: fresh users in each run.
	alice, bob, carol := freshName(t, "alice"), freshName(t, "bob"), freshName(t, "carol")
	var sent []message
	for _, m := range []struct{ user, text string }{
		{bob, "Morning all! @" + alice + ", is the **deploy** still on for 11:00?"},
		{carol, "Yes — pipeline is green. Release notes: [changelog](https://example.com/changelog)"},
		{alice, "Great, I'll keep an eye on the `p99` latency dashboards."},
		{bob, "Pushpin holds the streams, Lambda only answers the first request."},
		{carol, "Rolling out to eu-west-2 now."},
		{alice, "Looks good from here. Nice work everyone!"},
	} {
		msg, err := st.send(ctx, room, m.user, m.text)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msg)
	}
	// An edit and a few reactions, as a lived-in room has.
	design := func(method, path, user string, body any) {
		if b, status, err := st.api(ctx, method, "/room/"+room+"/messages/"+path, user, body); err != nil || status != 200 {
			t.Fatalf("%s %s: %d %s %v", method, path, status, b, err)
		}
	}
	design(http.MethodPatch, fmt.Sprint(sent[3].ID), bob, map[string]string{"text": "Pushpin holds the streams; Lambda only answers the first request."})
	for _, r := range []struct {
		i           int
		user, emoji string
	}{{4, alice, "🎉"}, {4, bob, "🎉"}, {4, bob, "👍"}, {5, bob, "❤️"}, {5, carol, "❤️"}, {1, alice, "👍"}} {
		design(http.MethodPut, fmt.Sprintf("%d/reactions", sent[r.i].ID), r.user, map[string]any{"emoji": r.emoji, "on": true})
	}
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	outDir := filepath.Join(root, "test-output")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shots := []struct {
		name     string
		viewport chromedp.Action[chromedp.Void]
	}{
		{"room-desktop.png", chromedp.EmulateViewport(1280, 800)},
		{"room-phone.png", chromedp.Emulate(device.IPhone13)},
	}
	for _, s := range shots {
		t.Run(s.name, func(t *testing.T) {
			tb := newTab(t, suite.browser, st, alice)
			tb.do(s.viewport)
			tb.open(st, room)
			tb.waitFor(`document.querySelectorAll('#messages > li').length === 6`, "the conversation")
			png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			if len(png) < 1000 {
				t.Fatalf("screenshot is only %d bytes", len(png))
			}
			// A later run of -count writes room-desktop-2.png and so on: the
			// first run's pictures keep their names.
			path := filepath.Join(outDir, freshName(t, strings.TrimSuffix(s.name, ".png"))+".png")
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", path)
		})
	}
}
