package integration

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLiveMessageReachesEveryListener: two listeners held by Pushpin get
// the same frame for a script's message and for a signed-in browser's, and
// the frame's JSON is exactly the stored message the send answered.
func TestLiveMessageReachesEveryListener(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	ann, bob := e.listen(t, "ann", room), e.listen(t, "bob", room)

	fromScript := e.send(t, room, "script-bot", "hello *world* <img src=x onerror=alert(1)>", 1)
	if want := "hello <em>world</em> &lt;img src=x onerror=alert(1)&gt;"; fromScript.HTML != want {
		t.Fatalf("html: got %q, want %q", fromScript.HTML, want)
	}

	// A browser sends only the edge's cookie; the edge sets x-user from it,
	// overriding the x-user the browser tried.
	cid := newClientID()
	h := browserHeaders("Ann Browser")
	h.Set("X-User", "mallory")
	a := e.call(t, http.MethodPost, e.stack.URL()+"/room/"+room+"/messages", sendBody("from a browser", cid), h)
	if a.status != http.StatusCreated {
		t.Fatalf("browser send: got %s, want 201", a)
	}
	fromBrowser := decodeMessage(t, a.body)
	if want := (message{ID: 2, Room: room, User: "Ann Browser", Text: "from a browser", HTML: "from a browser", SentAt: fromBrowser.SentAt, ClientID: cid}); fromBrowser != want {
		t.Fatalf("browser send: got %+v, want %+v", fromBrowser, want)
	}

	for _, l := range []*listener{ann, bob} {
		l.expectMessage(t, fromScript)
		l.expectMessage(t, fromBrowser)
	}

	// The stored copy is the one that went out live.
	p := e.history(t, room, "")
	if want := []message{fromBrowser, fromScript}; !reflect.DeepEqual(p.Messages, want) {
		t.Fatalf("history after live delivery:\n got  %+v\n want %+v", p.Messages, want)
	}
	e.expectPublished(t, room, []int64{1, 2})
}

// TestIdempotentRetry: the same clientId twice stores and publishes one
// message; the retry answers 200 with the first message.
func TestIdempotentRetry(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	l := e.listen(t, "listener", room)

	cid := newClientID()
	first, err := e.post(room, "retrier", "only once", cid)
	if err != nil {
		t.Fatal(err)
	}
	if first.status != http.StatusCreated {
		t.Fatalf("first send: got %s, want 201", first)
	}
	m := decodeMessage(t, first.body)
	if m.ID != 1 || m.ClientID != cid || m.Text != "only once" {
		t.Fatalf("first send: got %+v, want id 1 clientId %s text %q", m, cid, "only once")
	}
	// A retry, even with other text (a client that edited before
	// retrying), gets the first message back.
	for i, text := range []string{"only once", "edited before the retry"} {
		again, err := e.post(room, "retrier", text, cid)
		if err != nil {
			t.Fatal(err)
		}
		if again.status != http.StatusOK {
			t.Fatalf("retry %d: got %s, want 200", i+1, again)
		}
		if got := decodeMessage(t, again.body); got != m {
			t.Fatalf("retry %d: got %+v, want the first message %+v", i+1, got, m)
		}
	}

	l.expectMessage(t, m)
	// The next message is id 2 and the next frame: the retries published
	// nothing and took no id.
	next := e.send(t, room, "retrier", "a new message", 2)
	l.expectMessage(t, next)
	if got := ids(e.history(t, room, "").Messages); !slices.Equal(got, []int64{2, 1}) {
		t.Fatalf("history ids: got %v, want [2 1]", got)
	}
	e.expectPublished(t, room, []int64{1, 2})
}

// TestResumeFromLastEventID: a listener that disconnects and comes back
// with Last-Event-ID (or ?lastEventId=) gets exactly what it missed in the
// hold's body, then live events.
func TestResumeFromLastEventID(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)

	first := e.listen(t, "first", room)
	m1 := e.send(t, room, "resumer", "before the disconnect", 1)
	first.expectMessage(t, m1)
	first.close()

	missed := []message{
		e.send(t, room, "resumer", "missed 1", 2),
		e.send(t, room, "other", "missed 2", 3),
		e.send(t, room, "resumer", "missed 3", 4),
	}
	byHeader := e.listen(t, "Last-Event-ID: 1", room, withLastEventID(1))
	for _, m := range missed {
		byHeader.expectMessage(t, m)
	}
	m5 := e.send(t, room, "resumer", "live after the resume", 5)
	byHeader.expectMessage(t, m5)

	byQuery := e.listen(t, "?lastEventId=2", room, withQueryLastEventID(2))
	for _, m := range []message{missed[1], missed[2], m5} {
		byQuery.expectMessage(t, m)
	}
	m6 := e.send(t, room, "resumer", "live to both", 6)
	byHeader.expectMessage(t, m6)
	byQuery.expectMessage(t, m6)

	upToDate := e.listen(t, "Last-Event-ID: 6", room, withLastEventID(6))
	m7 := e.send(t, room, "resumer", "nothing replayed before this", 7)
	upToDate.expectMessage(t, m7)
	e.expectPublished(t, room, idRange(1, 7))
}

// TestStreamReset: a resume point older than the kept history (the room was
// cleared) or ahead of the room gets one stream-reset frame carrying the
// room's last id, then live events from there.
func TestStreamReset(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	for i := int64(1); i <= 3; i++ {
		e.send(t, room, "resetter", fmt.Sprintf("message %d", i), i)
	}
	a := e.call(t, http.MethodDelete, e.stack.URL()+"/admin/room/"+room, nil, http.Header{"X-Api-Key": {adminKey}})
	if a.status != http.StatusNoContent {
		t.Fatalf("clear room: got %s, want 204", a)
	}
	// The clear took id 4; events 2 and 3 are gone.
	if got := e.lastEventID(t, room); got != 4 {
		t.Fatalf("last event id after the clear: got %d, want 4", got)
	}

	gap := e.listen(t, "Last-Event-ID: 1 (gone)", room, withLastEventID(1))
	gap.expectEvent(t, 4, "stream-reset", map[string]any{"room": room})
	m5 := e.send(t, room, "resetter", "after the reset", 5)
	gap.expectMessage(t, m5)

	future := e.listen(t, "Last-Event-ID: 999 (future)", room, withLastEventID(999))
	future.expectEvent(t, 5, "stream-reset", map[string]any{"room": room})
	m6 := e.send(t, room, "resetter", "after the future reset", 6)
	future.expectMessage(t, m6)
	gap.expectMessage(t, m6)
	e.expectPublished(t, room, idRange(1, 6))
}

// TestLostPublishRecoveredThroughNextLink: the publish of message n is
// dropped on its way to Pushpin (the send still succeeds); when n+1 is
// published, Pushpin sees the gap, calls the stream's next link and the
// listener gets n then n+1, each once, in order.
func TestLostPublishRecoveredThroughNextLink(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	channel := "room-" + room
	l := e.listen(t, "listener", room)

	m1 := e.send(t, room, "sender", "delivered normally", 1)
	l.expectMessage(t, m1)

	e.publish.DropNext(channel)
	m2 := e.send(t, room, "sender", "publish lost on purpose", 2)
	if got := e.publish.Dropped(channel); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("dropped publishes on %s: got %v, want [2]", channel, got)
	}
	m3 := e.send(t, room, "sender", "published, after a gap", 3)

	// Pushpin holds the out-of-order publish of 3 for 5–10 s waiting for 2,
	// then follows the next link, whose answer carries 2 and 3.
	l.expectMessage(t, m2)
	l.expectMessage(t, m3)
	m4 := e.send(t, room, "sender", "live again", 4)
	l.expectMessage(t, m4)
	e.expectPublished(t, room, idRange(1, 4))
}

// TestConcurrentSenders: 10 senders × 10 messages into one room get ids
// exactly 1..100, none lost or duplicated, in history and on a listener.
// A 503 (the store gave up under contention) is retried with the same
// clientId, as the client does.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	l := e.listen(t, "listener", room)

	const senders, each = 10, 10
	const total = senders * each
	var (
		mu      sync.Mutex
		byText  = map[string]answer{}
		retries int
		errs    []error
		wg      sync.WaitGroup
	)
	for g := range senders {
		wg.Go(func() {
			user := fmt.Sprintf("sender-%d", g)
			for i := range each {
				text := fmt.Sprintf("sender %d message %d", g, i)
				cid := newClientID()
				a, n, err := e.postRetrying(room, user, text, cid)
				mu.Lock()
				retries += n
				if err != nil {
					errs = append(errs, err)
				} else {
					byText[text] = a
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent sends failed:\n%v", err)
	}
	t.Logf("%d sends answered 503 and were retried with the same clientId", retries)

	byID := map[int64]message{}
	for text, a := range byText {
		m := decodeMessage(t, a.body)
		if m.Text != text || m.Room != room {
			t.Fatalf("send %q: answered %+v", text, m)
		}
		if prev, dup := byID[m.ID]; dup {
			t.Fatalf("id %d given twice: %q and %q", m.ID, prev.Text, m.Text)
		}
		byID[m.ID] = m
	}
	var got []int64
	for id := range byID {
		got = append(got, id)
	}
	slices.Sort(got)
	if want := idRange(1, total); !slices.Equal(got, want) {
		t.Fatalf("ids answered: got %v, want 1..%d", got, total)
	}

	p := e.history(t, room, "limit=100")
	if want := idRange(total, 1); !slices.Equal(ids(p.Messages), want) || p.More {
		t.Fatalf("history limit=100: got ids %v more=%v, want %d..1 more=false", ids(p.Messages), p.More, total)
	}
	for _, m := range p.Messages {
		if m != byID[m.ID] {
			t.Fatalf("history message %d:\n got  %+v\n want %+v", m.ID, m, byID[m.ID])
		}
	}

	// Publishes raced each other; Pushpin's sequencer puts them back in id
	// order, and any it gave up on come through the next link.
	for id := int64(1); id <= total; id++ {
		l.expectMessage(t, byID[id])
	}
	sentinel := e.send(t, room, "sentinel", "after the rush", total+1)
	l.expectMessage(t, sentinel)

	// limit is clamped to 100.
	p = e.history(t, room, "limit=1000")
	if want := idRange(total+1, 2); !slices.Equal(ids(p.Messages), want) || !p.More || p.Before == nil || *p.Before != 2 {
		t.Fatalf("history limit=1000: got ids %v more=%v before=%v, want %d..2 (clamped to 100) more=true before=2", ids(p.Messages), p.More, p.Before, total+1)
	}

	// Each id was published once; racing senders publish in any order.
	var published []int64
	for _, id := range e.publish.Published("room-" + room) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("publish id %q on room-%s is not a number", id, room)
		}
		published = append(published, n)
	}
	slices.Sort(published)
	if !slices.Equal(published, idRange(1, total+1)) {
		t.Fatalf("publishes on room-%s (sorted): got %v, want 1..%d each once", room, published, total+1)
	}
}

// postRetrying sends a message, retrying a 503 with the same clientId up to
// 20 times. It returns the final answer (201, or 200 when an earlier try
// was stored after all) and how many retries it took.
func (e *testEnv) postRetrying(room, user, text, cid string) (answer, int, error) {
	for try := 0; try < 20; try++ {
		a, err := e.post(room, user, text, cid)
		if err != nil {
			return a, try, err
		}
		switch {
		case a.status == http.StatusCreated, a.status == http.StatusOK && try > 0:
			return a, try, nil
		case a.status == http.StatusServiceUnavailable:
			time.Sleep(time.Duration(20+10*try) * time.Millisecond) // back off before the retry
			continue
		default:
			return a, try, fmt.Errorf("send %q: got %s, want 201 (or 503 then a retry)", text, strings.TrimSpace(a.String()))
		}
	}
	return answer{}, 20, fmt.Errorf("send %q: still 503 after 20 tries", text)
}
