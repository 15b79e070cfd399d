package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// withLive asks for the live events (presence, typing) as the page does,
// as guest (ignored when signed in).
func withLive(guest string) listenOption {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set("live", "1")
		if guest != "" {
			q.Set("guest", guest)
		}
		r.URL.RawQuery = q.Encode()
	}
}

// signedInAs sends the edge stand-in's identity cookie: the edge sets
// x-user from it, as the passkey edge does for a signed-in browser.
func signedInAs(user string) listenOption {
	return func(r *http.Request) { r.Header.Set("Cookie", "chat_user="+url.QueryEscape(user)) }
}

// presenceData is the data of a presence or presence-list frame.
type presenceData struct {
	Room    string `json:"room"`
	User    string `json:"user"`
	Guest   string `json:"guest"`
	TTL     int    `json:"ttl"`
	Members []struct {
		User  string `json:"user"`
		Guest string `json:"guest"`
		TTL   int    `json:"ttl"`
	} `json:"members"`
}

// nextLive reads frames until one of type event that satisfies ok, failing
// on a frame with an id (none is expected) or at liveWait.
func (l *listener) nextLive(t *testing.T, event string, ok func(presenceData) bool) presenceData {
	t.Helper()
	deadline := time.Now().Add(liveWait)
	for {
		f := l.next(t, time.Until(deadline))
		if f.ID != "" {
			t.Fatalf("listener %s: got %s, want live frames only; received so far: %s", l.name, f, l.history())
		}
		if f.Event != event {
			continue
		}
		var d presenceData
		if err := json.Unmarshal([]byte(f.Data), &d); err != nil {
			t.Fatalf("listener %s: %s data %q: %v", l.name, event, f.Data, err)
		}
		if ok(d) {
			return d
		}
	}
}

func memberNames(d presenceData) []string {
	var out []string
	for _, m := range d.Members {
		if m.User != "" {
			out = append(out, "u:"+m.User)
		} else {
			out = append(out, "g:"+m.Guest)
		}
	}
	slices.Sort(out)
	return out
}

// TestPresenceThroughPushpin: a stream opened with live=1 starts with the
// list of who is here; each newcomer reaches the others as a presence
// event on the live channel; a second tab of the same user is one member;
// a guest is counted by its id, never named; a stream without live=1 is
// not counted.
func TestPresenceThroughPushpin(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	ana, bob := uniqueUser("ana"), uniqueUser("bob")

	plain := e.listen(t, "plain", room) // not counted, sees no live event
	a := e.listen(t, "ana", room, signedInAs(ana), withLive(""))
	if d := a.nextLive(t, "presence-list", func(presenceData) bool { return true }); !slices.Equal(memberNames(d), []string{"u:" + ana}) || d.Room != room || d.TTL <= 0 {
		t.Fatalf("ana's first presence-list = %+v, want ana alone", d)
	}

	b := e.listen(t, "bob", room, signedInAs(bob), withLive(""))
	if d := b.nextLive(t, "presence-list", func(presenceData) bool { return true }); !slices.Equal(memberNames(d), []string{"u:" + ana, "u:" + bob}) {
		t.Fatalf("bob's presence-list = %v, want ana and bob", memberNames(d))
	}
	if d := a.nextLive(t, "presence", func(d presenceData) bool { return d.User == bob }); d.TTL <= 0 || d.Guest != "" || d.Room != room {
		t.Fatalf("bob's presence at ana = %+v", d)
	}

	// bob's second tab: still two people.
	b2 := e.listen(t, "bob, second tab", room, signedInAs(bob), withLive(""))
	if d := b2.nextLive(t, "presence-list", func(presenceData) bool { return true }); !slices.Equal(memberNames(d), []string{"u:" + ana, "u:" + bob}) {
		t.Fatalf("bob's second tab presence-list = %v, want ana and bob once each", memberNames(d))
	}

	// A guest: counted under its id; the user parameter of a browser's own
	// request does not name it.
	g := e.listen(t, "guest", room, withLive("guest-"+room), func(r *http.Request) {
		q := r.URL.Query()
		q.Set("user", "mallory")
		r.URL.RawQuery = q.Encode()
	})
	if d := g.nextLive(t, "presence-list", func(presenceData) bool { return true }); !slices.Equal(memberNames(d), []string{"g:guest-" + room, "u:" + ana, "u:" + bob}) {
		t.Fatalf("guest's presence-list = %v, want the guest by id, ana and bob", memberNames(d))
	}
	a.nextLive(t, "presence", func(d presenceData) bool { return d.Guest == "guest-"+room && d.User == "" })

	// The plain listener got none of it: the next frame it sees is a message.
	m := e.send(t, room, "sender", "after the presence events", 1)
	plain.expectMessage(t, m)
	e.expectPublished(t, room, []int64{1})
}

// TestLiveEventKeepsTheIdChain: Pushpin 1.36 in reliable mode drops a
// publish without id on a channel held with prev-id; on the live channel it
// reaches the hold, and the room channel's chain goes on undisturbed: the
// next message arrives in order, and a lost publish after it is still
// noticed and recovered through the next link.
func TestLiveEventKeepsTheIdChain(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	channel := "room-" + room
	l := e.listen(t, "listener", room, signedInAs(uniqueUser("ann")), withLive(""))
	l.nextLive(t, "presence-list", func(presenceData) bool { return true })

	m1 := e.send(t, room, "sender", "one", 1)
	l.expectMessage(t, m1)

	// A live event published straight to Pushpin, without id or prev-id.
	pub, err := grip.NewPublisher(grip.PublishConfig{ControlURI: e.stack.PublishURL()})
	if err != nil {
		t.Fatal(err)
	}
	frame, err := sse.Event{Type: "typing", Data: []byte(`{"room":"` + room + `","user":"zed","typing":true,"ttl":6}`)}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	if err := pub.Publish(ctx, chat.LiveChannelFor(room), "", "", frame); err != nil {
		t.Fatalf("publish on the live channel: %v", err)
	}
	for {
		f := l.next(t, liveWait)
		if f.ID != "" {
			t.Fatalf("got %s before the typing event; received so far: %s", f, l.history())
		}
		if f.Event == "typing" {
			if f.Data != `{"room":"`+room+`","user":"zed","typing":true,"ttl":6}` {
				t.Fatalf("typing data %q", f.Data)
			}
			break
		}
	}

	m2 := e.send(t, room, "sender", "two", 2)
	l.expectMessage(t, m2)
	e.publish.DropNext(channel)
	m3 := e.send(t, room, "sender", "three, lost on its way", 3)
	m4 := e.send(t, room, "sender", "four", 4)
	l.expectMessage(t, m3)
	l.expectMessage(t, m4)
	e.expectPublished(t, room, idRange(1, 4))
}

// TestTypingThroughPushpin: a typing signal from a signed-in browser
// reaches the live listeners of the room, stores nothing and takes no id;
// past the per-user limit it is answered 429 with Retry-After.
func TestTypingThroughPushpin(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	zed := uniqueUser("zed")
	l := e.listen(t, "listener", room, withLive("guest-"+room))
	l.nextLive(t, "presence-list", func(presenceData) bool { return true })

	u := e.stack.URL() + "/room/" + room + "/typing"
	a := e.call(t, http.MethodPost, u, []byte(`{"typing":true}`), browserHeaders(zed))
	if a.status != http.StatusNoContent {
		t.Fatalf("typing: got %s, want 204", a)
	}
	for {
		f := l.next(t, liveWait)
		if f.ID != "" {
			t.Fatalf("got %s, want the typing event; received so far: %s", f, l.history())
		}
		if f.Event == "typing" {
			if want := `{"room":"` + room + `","user":"` + zed + `","typing":true,"ttl":6}`; f.Data != want {
				t.Fatalf("typing data %s, want %s", f.Data, want)
			}
			break
		}
	}
	if last := e.lastEventID(t, room); last != 0 {
		t.Fatalf("room's last id %d after a typing signal, want 0", last)
	}
	// The default limit lets a burst of 5 through, then answers 429.
	var limited answer
	for range 10 {
		limited = e.call(t, http.MethodPost, u, []byte(`{"typing":false}`), browserHeaders(zed))
		if limited.status != http.StatusNoContent {
			break
		}
	}
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") == "" {
		t.Fatalf("typing past the limit: got %s, want 429 with Retry-After", limited)
	}
}
