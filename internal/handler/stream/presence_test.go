package stream

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// liveFixture is a stream handler that keeps presence on the in-memory
// fakes, with a clock the test moves.
type liveFixture struct {
	*fixture
	presence *chattest.PresenceStore
	livePub  *chattest.Publisher
	live     http.Handler
	mu       sync.Mutex
	now      time.Time
}

func newLiveFixture(t *testing.T) *liveFixture {
	t.Helper()
	f := &liveFixture{fixture: newFixture(t), presence: chattest.NewPresenceStore(), livePub: chattest.NewPublisher(),
		now: time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)}
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := chat.NewLive(f.livePub, rooms, chat.WithPresence(f.presence, 150*time.Second), chat.WithLiveClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	v, err := grip.NewVerifier(grip.VerifierConfig{Key: []byte(testSigKey), Issuer: "pushpin"})
	if err != nil {
		t.Fatal(err)
	}
	f.live = New(f.svc, v, Options{LinkTimeout: 120 * time.Second, KeepAlive: 20 * time.Second, Presence: lv, SuspectWindow: -1},
		handler.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	return f
}

func (f *liveFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *liveFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// livePublishes returns the data of the presence events published on the
// room's live channel, in order, failing on anything else.
func (f *liveFixture) livePublishes(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range f.livePub.Published() {
		if p.Channel != chat.LiveChannelFor(testRoom) || p.ID != "" || p.PrevID != "" {
			t.Errorf("publish on %q id %q prev-id %q, want the live channel without ids", p.Channel, p.ID, p.PrevID)
		}
		out = append(out, frameData(t, string(p.Frame), "presence"))
	}
	return out
}

// frameData decodes the data of the one frame of type typ in body.
func frameData(t *testing.T, body, typ string) map[string]any {
	t.Helper()
	for frame := range strings.SplitSeq(body, "\n\n") {
		if !strings.Contains(frame, "event: "+typ+"\n") {
			continue
		}
		if strings.Contains(frame, "\nid:") || strings.HasPrefix(frame, "id:") {
			t.Errorf("%s frame has an id: %q", typ, frame)
		}
		_, data, _ := strings.Cut(frame, "data: ")
		var v map[string]any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("%s data %q: %v", typ, data, err)
		}
		return v
	}
	t.Fatalf("no %s frame in %q", typ, body)
	return nil
}

func TestLiveStream(t *testing.T) {
	t.Parallel()
	f := newLiveFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one", "two")

	// bob opened the room a minute ago, from the page (?live=1).
	open := func(user, query string) (status int, headers map[string]string, body string) {
		t.Helper()
		ev := testkit.WithQuery(testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "x-user", user), query)
		resp := testkit.Invoke(t, f.live, ev)
		return resp.StatusCode, resp.Headers, resp.Body
	}
	if status, _, _ := open("bob", "live=1"); status != http.StatusOK {
		t.Fatalf("bob's hold answered %d", status)
	}
	f.advance(time.Minute)

	status, headers, body := open("alice", "live=1&lastEventId=1")
	if status != http.StatusOK {
		t.Fatalf("status %d, body %q", status, body)
	}
	if got, want := headers["Grip-Channel"], "room-devops-bcn; prev-id=2, room-devops-bcn-live, room-devops-bcn-clock"; got != want {
		t.Errorf("Grip-Channel = %q, want %q", got, want)
	}
	link := headers["Grip-Link"]
	if !strings.HasPrefix(link, "</room/devops-bcn/events?lastEventId=2&") || !strings.Contains(link, "live=1") || !strings.Contains(link, "user=alice") {
		t.Errorf("Grip-Link = %q, want the next link with live=1 and user=alice", link)
	}
	// The replay is unchanged; the list of who is here comes first, without an id.
	if ids, types := frameIDs(body); strings.Join(ids, ",") != "2" || strings.Join(types, ",") != "presence-list,message" {
		t.Errorf("frames ids %v types %v, want presence-list then message 2", ids, types)
	}
	list := frameData(t, body, "presence-list")
	members, _ := json.Marshal(list["members"])
	if string(members) != `[{"ttl":150,"user":"alice"},{"ttl":90,"user":"bob"}]` || list["ttl"] != float64(150) {
		t.Errorf("presence-list = %v, want alice (150 s) and bob (90 s left), ttl 150", list)
	}
	pubs := f.livePublishes(t)
	if len(pubs) != 2 || pubs[1]["user"] != "alice" || pubs[1]["ttl"] != float64(150) || pubs[1]["room"] != testRoom {
		t.Fatalf("live publishes %v, want bob's then alice's presence", pubs)
	}

	// The proxy's next link a second later: no x-user, the user from the
	// link; refreshed moments ago, so neither written nor published again.
	f.advance(time.Second)
	next := func(query string) (int, map[string]string, string) {
		ev := testkit.WithQuery(testkit.WithHeader(testkit.Event(t, "stream-events-next-link.json"), "grip-sig", validSig(t)), query)
		resp := testkit.Invoke(t, f.live, ev)
		return resp.StatusCode, resp.Headers, resp.Body
	}
	u, _ := url.Parse(strings.Trim(strings.SplitN(link, ";", 2)[0], "<>"))
	status, headers, body = next(u.RawQuery)
	if status != http.StatusOK || strings.Contains(body, "presence") || headers["Grip-Link"] != link {
		t.Errorf("next link: %d, link %q, body %q; want the same link and no presence frame", status, headers["Grip-Link"], body)
	}
	if n := len(f.livePublishes(t)); n != 2 {
		t.Errorf("%d live publishes after a next link 1 s later, want still 2", n)
	}
	// A link timeout later it refreshes alice.
	f.advance(2 * time.Minute)
	next(u.RawQuery)
	if pubs := f.livePublishes(t); len(pubs) != 3 || pubs[2]["user"] != "alice" {
		t.Errorf("live publishes %v, want a third: alice refreshed", pubs)
	}
}

func TestLiveStreamVisitors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		user      string // x-user
		gripLast  bool   // a next link: Grip-Last set
		query     string
		wantUser  string
		wantGuest string // "*" any generated id
	}{
		{name: "x-user", user: "ana", query: "live=1", wantUser: "ana"},
		{name: "x-user wins over the parameters", user: "ana", gripLast: true, query: "live=1&user=bob&guest=guest-12345", wantUser: "ana"},
		{name: "next link names the user", gripLast: true, query: "live=1&lastEventId=0&user=bob", wantUser: "bob"},
		{name: "next link names a user with a space and accents", gripLast: true, query: "live=1&lastEventId=0&user=Zo%C3%AB+N%C3%BA%C3%B1ez", wantUser: "Zoë Núñez"},
		{name: "a browser cannot name itself", query: "live=1&user=bob&guest=guest-12345", wantGuest: "guest-12345"},
		{name: "guest id", query: "live=1&guest=guest-12345", wantGuest: "guest-12345"},
		{name: "malformed guest id replaced", query: "live=1&guest=x", wantGuest: "*"},
		{name: "invalid x-user is a guest", user: "a,b", query: "live=1", wantGuest: "*"},
		{name: "next link with an invalid user is a guest", gripLast: true, query: "live=1&user=a%2Cb&guest=guest-12345", wantGuest: "guest-12345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newLiveFixture(t)
			ev := testkit.WithHeader(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "x-user", tt.user)
			if tt.gripLast {
				ev = testkit.WithHeader(ev, "grip-last", "room-devops-bcn; last-id=0")
			}
			resp := testkit.Invoke(t, f.live, testkit.WithQuery(ev, tt.query))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			pubs := f.livePublishes(t)
			if len(pubs) != 1 {
				t.Fatalf("live publishes %v, want one", pubs)
			}
			user, _ := pubs[0]["user"].(string)
			guest, _ := pubs[0]["guest"].(string)
			link := resp.Headers["Grip-Link"]
			// The link's visitor, decoded as the next request will be.
			lu, err := url.Parse(strings.TrimPrefix(strings.SplitN(link, ">", 2)[0], "<"))
			if err != nil {
				t.Fatalf("link %q: %v", link, err)
			}
			lq := lu.Query()
			switch {
			case tt.wantUser != "":
				if user != tt.wantUser || guest != "" || lq.Get("user") != tt.wantUser || lq.Has("guest") || lq.Get("live") != "1" {
					t.Errorf("presence %v, link %q; want user %s", pubs[0], link, tt.wantUser)
				}
			case tt.wantGuest == "*":
				if user != "" || !chat.ValidGuestID(guest) || lq.Get("guest") != guest || lq.Has("user") {
					t.Errorf("presence %v, link %q; want a generated guest id in both", pubs[0], link)
				}
			default:
				if user != "" || guest != tt.wantGuest || lq.Get("guest") != tt.wantGuest || lq.Has("user") {
					t.Errorf("presence %v, link %q; want guest %s", pubs[0], link, tt.wantGuest)
				}
			}
		})
	}
}

// TestStreamWithoutLive: a stream that does not ask for live events, or a
// handler without presence, answers exactly the reliable hold of before.
func TestStreamWithoutLive(t *testing.T) {
	t.Parallel()
	f := newLiveFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one")
	for _, c := range []struct {
		name, query string
		h           http.Handler
	}{{"presence, no live=1", "lastEventId=0", f.live}, {"no presence, live=1", "lastEventId=0&live=1", f.stream}} {
		name := c.name
		resp := testkit.Invoke(t, c.h, testkit.WithQuery(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), c.query))
		if resp.Headers["Grip-Channel"] != "room-devops-bcn; prev-id=1" || resp.Headers["Grip-Link"] != "</room/devops-bcn/events?lastEventId=1>; rel=next; timeout=120" {
			t.Errorf("%s: Grip-Channel %q, Grip-Link %q", name, resp.Headers["Grip-Channel"], resp.Headers["Grip-Link"])
		}
		if _, types := frameIDs(resp.Body); strings.Join(types, ",") != "message" {
			t.Errorf("%s: frames %v, want the message only", name, types)
		}
	}
	if pubs := f.livePub.Published(); len(pubs) != 0 || f.presence.Touches != 0 {
		t.Errorf("published %d, touched %d; want nothing", len(pubs), f.presence.Touches)
	}
}

// TestLiveStreamPresenceFails: presence is best effort — a failing store
// still gets the hold, live channel included, without a presence list.
func TestLiveStreamPresenceFails(t *testing.T) {
	t.Parallel()
	f := newLiveFixture(t)
	f.presence.Err = chattest.ErrPublish
	resp := testkit.Invoke(t, f.live, testkit.WithQuery(testkit.WithHeader(testkit.Event(t, "stream-events.json"), "grip-sig", validSig(t)), "live=1"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Headers["Grip-Channel"], "room-devops-bcn-live") || strings.Contains(resp.Body, "presence") {
		t.Errorf("answer %d %v %q; want the live hold without presence", resp.StatusCode, resp.Headers, resp.Body)
	}
}
