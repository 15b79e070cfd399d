package integration

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCatchUpPagesWithoutWaitingForTheLinkTimeout: a listener 450 events
// behind gets 200 in the hold's answer and the rest through the next link
// Pushpin follows about a second later (the answer asks for timeout=1
// while it leaves events out), each event once and in order — not one
// page per LINK_TIMEOUT (60 s, longer than the wait here).
func TestCatchUpPagesWithoutWaitingForTheLinkTimeout(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	const n = 450
	var last message
	for i := 1; i <= n; i++ {
		last = e.send(t, room, "catch-up-"+strconv.Itoa(i%7), "event "+strconv.Itoa(i), int64(i))
	}
	l := e.listen(t, "behind", room, withLastEventID(0))
	for id := int64(1); id < n; id++ {
		f := l.next(t, liveWait)
		if f.ID != strconv.FormatInt(id, 10) {
			t.Fatalf("frame %s, want id %d; received so far: %s", f, id, l.history())
		}
	}
	l.expectMessage(t, last)
	m := e.send(t, room, "live", "live after the catch-up", n+1)
	l.expectMessage(t, m)
}

// TestTrailingLossAfterAGapIsNoticedSoon: once a stream has recovered one
// lost publish, the stream function asks Pushpin to check the next link
// every 3 s for a while, so a second lost publish with nothing after it
// reaches the listener well within LINK_TIMEOUT (60 s, longer than the
// wait here) instead of after it.
func TestTrailingLossAfterAGapIsNoticedSoon(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	channel := "room-" + room
	l := e.listen(t, "listener", room)

	m1 := e.send(t, room, "sender", "delivered normally", 1)
	l.expectMessage(t, m1)
	// A gap revealed by the next publish: recovered through the next link.
	e.publish.DropNext(channel)
	m2 := e.send(t, room, "sender", "lost", 2)
	m3 := e.send(t, room, "sender", "reveals the gap", 3)
	l.expectMessage(t, m2)
	l.expectMessage(t, m3)
	// Let the recovery settle: Pushpin holds the publish of 3 back for up
	// to message_wait (+1 s) waiting for 2 and, releasing it, follows the
	// link once more (an empty answer). After that, what brings 4 below
	// can only be the link's timer.
	l.quiet(t, 7*time.Second)
	// Now a lost publish with nothing after it.
	e.publish.DropNext(channel)
	m4 := e.send(t, room, "sender", "lost, nothing after it", 4)
	if got := e.publish.Dropped(channel); !slices.Equal(got, []string{"2", "4"}) {
		t.Fatalf("dropped publishes on %s: got %v, want [2 4]", channel, got)
	}
	l.expectMessage(t, m4)
	e.expectPublished(t, room, idRange(1, 4))
}

// TestInvalidResumePointsThroughPushpin: a Last-Event-ID or ?lastEventId=
// that is not an id as the API writes it is answered 400 with the JSON
// error, through Pushpin (which passes a non-GRIP answer on), instead of
// being taken for "from 0" or "from now"; a valid one is held and its
// answer starts with the SSE retry field.
func TestInvalidResumePointsThroughPushpin(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	m1 := e.send(t, room, "resumer", "one", 1)
	const msg = "Last-Event-ID, lastEventId and Grip-Last must be an event id: digits only, at most 19"
	u := e.stack.URL() + "/room/" + room + "/events"
	for _, v := range []string{"abc", "-1", "+1", "01", "12345678901234567890"} {
		a := e.call(t, http.MethodGet, u, nil, http.Header{"Accept": {"text/event-stream"}, "Last-Event-Id": {v}})
		expectError(t, "Last-Event-ID "+v, a, http.StatusBadRequest, msg)
		a = e.call(t, http.MethodGet, u+"?lastEventId="+url.QueryEscape(v), nil, http.Header{"Accept": {"text/event-stream"}})
		expectError(t, "lastEventId "+v, a, http.StatusBadRequest, msg)
	}

	// A valid one: held, the retry field first, then the replay.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Last-Event-ID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("valid Last-Event-ID: %d, first line %q (%v); want 200 and a retry field", resp.StatusCode, line, err)
	}
	l := e.listen(t, "valid", room, withLastEventID(0))
	l.expectMessage(t, m1)
}
