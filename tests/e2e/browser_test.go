package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/fanout-chat/serverless-chat/tools/edge"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// chromiumFlags are the launch flags that work in this environment.
var chromiumFlags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
}

// startBrowser starts headless Chromium with a fresh profile and returns
// its root context; cancel stops it (by the pid chromedp started) and
// removes the profile.
func startBrowser(parent context.Context) (context.Context, func(), error) {
	exe := "/usr/bin/chromium"
	if p := os.Getenv("CHROMIUM"); p != "" {
		exe = p
	}
	profile, err := os.MkdirTemp("", "e2e-chromium-")
	if err != nil {
		return nil, nil, fmt.Errorf("profile dir: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	}
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	stop := func() {
		cancelCtx()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	}
	// The first Run starts the browser.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start chromium %s: %w", exe, err)
	}
	return ctx, stop, nil
}

// tab is one page in its own browser context (its own cookies), as one
// visitor.
type tab struct {
	t    *testing.T
	ctx  context.Context
	user string

	mu      sync.Mutex
	console []string // CSP reports, exceptions and console errors
	dialogs []string // JavaScript dialogs (alert, confirm, prompt) opened
}

// newTab opens a visitor's tab; a non-empty user signs in at the edge
// stand-in (its identity cookie), an empty one stays a guest. The tab
// closes when the test ends, and the test fails if the page hit a CSP
// violation, an uncaught exception or opened a JavaScript dialog.
func newTab(t *testing.T, browser context.Context, st *testStack, user string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, user: user}
	t.Cleanup(func() {
		cancel()
		tb.assertClean()
	})
	if err := chromedp.Listen(ctx, tb.onEvent); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if user != "" {
		_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
				Name:  edge.UserCookie,
				Value: url.QueryEscape(user),
				URL:   st.URL,
			})
			return err
		}))
		if err != nil {
			t.Fatalf("set identity cookie for %s: %v", user, err)
		}
	}
	return tb
}

// onEvent records what must never happen on the page. It runs on the
// browser's reader goroutine, so it only stores.
func (tb *tab) onEvent(ev any) {
	var line string
	switch e := ev.(type) {
	case *log.EventEntryAdded:
		if e.Entry == nil {
			return
		}
		text := e.Entry.Text
		if strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Content-Security-Policy") ||
			e.Entry.Source == log.EntrySourceSecurity {
			line = fmt.Sprintf("log %s/%s: %s", e.Entry.Source, e.Entry.Level, text)
		}
	case *runtime.EventExceptionThrown:
		if e.ExceptionDetails != nil {
			line = "exception: " + e.ExceptionDetails.Text
			if ex := e.ExceptionDetails.Exception; ex != nil {
				line += " " + ex.Description
			}
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		}
	case *page.EventJavascriptDialogOpening:
		tb.mu.Lock()
		tb.dialogs = append(tb.dialogs, fmt.Sprintf("%s: %s", e.Type, e.Message))
		tb.mu.Unlock()
		return
	}
	if line != "" {
		tb.mu.Lock()
		tb.console = append(tb.console, line)
		tb.mu.Unlock()
	}
}

// problems returns the recorded console problems and dialogs.
func (tb *tab) problems() (console, dialogs []string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.console...), append([]string(nil), tb.dialogs...)
}

func (tb *tab) assertClean() {
	console, dialogs := tb.problems()
	for _, c := range console {
		tb.t.Errorf("%s's page: %s", tb.name(), c)
	}
	for _, d := range dialogs {
		tb.t.Errorf("%s's page opened a dialog: %s", tb.name(), d)
	}
}

func (tb *tab) name() string {
	if tb.user == "" {
		return "guest"
	}
	return tb.user
}

// do runs actions with a deadline: usually seconds, testkit.Patience on a
// loaded machine.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, testkit.Patience(tb.t, 30*time.Second))
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s's browser: %v", tb.name(), err)
	}
}

// open loads a room page and waits until the history is shown and the
// stream is live.
func (tb *tab) open(st *testStack, room string) {
	tb.t.Helper()
	tb.do(
		chromedp.Navigate(st.URL+"/room/"+room),
		chromedp.WaitVisible(chromedp.ID("room-title")),
	)
	tb.waitLive()
}

// waitLive waits for the connection indicator to say live.
func (tb *tab) waitLive() {
	tb.t.Helper()
	tb.waitFor(`document.getElementById('status').dataset.state === 'live'`, "the stream to be live")
}

// waitFor polls a JavaScript predicate until it is true: usually within
// seconds, and for testkit.Patience, so a loaded machine is not a failure.
func (tb *tab) waitFor(predicate, what string) {
	tb.t.Helper()
	patience := testkit.Patience(tb.t, 25*time.Second)
	ctx, cancel := context.WithTimeout(tb.ctx, patience+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(patience))); err != nil {
		state := tb.evalString(`document.getElementById('messages')?.innerText + ' | status=' + document.getElementById('status')?.dataset.state`)
		tb.t.Fatalf("%s's page: waiting for %s: %v\npage: %s", tb.name(), what, err, state)
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, testkit.Patience(tb.t, 30*time.Second))
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s's page: eval %s: %v", tb.name(), expr, err)
	}
	return v
}

func (tb *tab) evalString(expr string) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return v
}

// texts returns the text of the shown messages, top to bottom, with
// "(pending)" after those not yet confirmed.
func (tb *tab) texts() []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...document.querySelectorAll('#messages > li.msg')].map(li =>
		li.querySelector('.body').innerText.trim() + (li.dataset.pending ? ' (pending)' : ''))`)
}

// typeAndSend types text into the composer with real key events and
// presses Enter.
func (tb *tab) typeAndSend(text string) {
	tb.t.Helper()
	tb.do(
		chromedp.Focus(chromedp.ID("input")),
		chromedp.SendKeys(chromedp.ID("input"), text),
		pressEnter(false),
	)
}

// pressEnter presses and releases Enter (with Shift when shift is true) as
// a keyboard does: one keyDown carrying the text, so a handler that
// prevents the keydown's default also stops the line break, then keyUp.
func pressEnter(shift bool) chromedp.Action[chromedp.Void] {
	var mods int64
	if shift {
		mods = int64(chromedp.ModifierShift)
	}
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{
				Type: typ, Modifiers: mods, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = "\r", "\r"
			}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
				return fmt.Errorf("press enter: %w", err)
			}
		}
		return nil
	})
}
