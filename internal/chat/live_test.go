package chat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
)

func newLive(t *testing.T, opts ...chat.LiveOption) (*chat.Live, *chattest.Publisher) {
	t.Helper()
	rooms, err := chat.ParseRooms("lobby:Lobby")
	if err != nil {
		t.Fatal(err)
	}
	pub := chattest.NewPublisher()
	l, err := chat.NewLive(pub, rooms, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l, pub
}

func TestNewLiveRefuses(t *testing.T) {
	t.Parallel()
	rooms, _ := chat.ParseRooms("lobby:Lobby")
	if _, err := chat.NewLive(nil, rooms); err == nil {
		t.Error("no publisher accepted")
	}
	if _, err := chat.NewLive(chattest.NewPublisher(), nil); err == nil {
		t.Error("no rooms accepted")
	}
	if _, err := chat.NewLive(chattest.NewPublisher(), rooms, chat.WithPresence(chattest.NewPresenceStore(), time.Second)); err == nil {
		t.Error("a 1 s presence ttl accepted")
	}
}

func TestLiveHere(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	store := chattest.NewPresenceStore()
	l, pub := newLive(t, chat.WithPresence(store, 20*time.Second), chat.WithLiveClock(func() time.Time { return now }))
	ctx := context.Background()

	if published, err := l.Here(ctx, "lobby", chat.Visitor{User: "ana"}); err != nil || !published {
		t.Fatalf("Here = %v, %v; want published", published, err)
	}
	// Within a quarter of the ttl (5 s): skipped; from then on: published.
	now = now.Add(5*time.Second - time.Millisecond)
	if published, _ := l.Here(ctx, "lobby", chat.Visitor{User: "ana"}); published {
		t.Error("a refresh just under 5 s later published")
	}
	now = now.Add(time.Millisecond)
	if published, _ := l.Here(ctx, "lobby", chat.Visitor{User: "ana"}); !published {
		t.Error("a refresh 5 s later did not publish")
	}
	pubs := pub.Published()
	if len(pubs) != 2 {
		t.Fatalf("published %d, want 2", len(pubs))
	}
	for _, p := range pubs {
		if p.Channel != "room-lobby-live" || p.ID != "" || p.PrevID != "" ||
			string(p.Frame) != "event: presence\ndata: {\"room\":\"lobby\",\"user\":\"ana\",\"ttl\":20}\n\n" {
			t.Errorf("publish %s %q %q %q", p.Channel, p.ID, p.PrevID, p.Frame)
		}
	}

	if _, err := l.Here(ctx, "nowhere", chat.Visitor{User: "ana"}); !errors.Is(err, chat.ErrRoomNotFound) {
		t.Errorf("unknown room: %v, want ErrRoomNotFound", err)
	}
	if _, err := l.Here(ctx, "lobby", chat.Visitor{}); err == nil {
		t.Error("an empty visitor accepted")
	}
	store.Err = errors.New("down")
	if _, err := l.Here(ctx, "lobby", chat.Visitor{Guest: "guest-123"}); err == nil {
		t.Error("a store failure was not reported")
	}
	if n := len(pub.Published()); n != 2 {
		t.Errorf("published %d after the failures, want still 2", n)
	}
}

func TestLivePresenceFrame(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	store := chattest.NewPresenceStore()
	l, _ := newLive(t, chat.WithPresence(store, 30*time.Second), chat.WithLiveClock(func() time.Time { return now }))
	ctx := context.Background()
	l.Here(ctx, "lobby", chat.Visitor{User: "bob"})
	now = now.Add(10 * time.Second)
	l.Here(ctx, "lobby", chat.Visitor{Guest: "guest-123"})
	l.Here(ctx, "lobby", chat.Visitor{User: "ana"})
	now = now.Add(500 * time.Millisecond)
	frame, err := l.PresenceFrame(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	want := "event: presence-list\ndata: {\"room\":\"lobby\",\"ttl\":30,\"members\":[" +
		"{\"guest\":\"guest-123\",\"ttl\":30},{\"user\":\"ana\",\"ttl\":30},{\"user\":\"bob\",\"ttl\":20}]}\n\n"
	if string(frame) != want {
		t.Errorf("frame\n%q\nwant\n%q", frame, want)
	}
	// bob expires 30 s after his refresh.
	now = now.Add(20 * time.Second)
	frame, _ = l.PresenceFrame(ctx, "lobby")
	if strings.Contains(string(frame), "bob") {
		t.Errorf("bob still listed after his ttl: %q", frame)
	}
}

func TestLiveWithoutPresence(t *testing.T) {
	t.Parallel()
	l, _ := newLive(t)
	if _, err := l.Here(context.Background(), "lobby", chat.Visitor{User: "ana"}); !errors.Is(err, chat.ErrNoPresence) {
		t.Errorf("Here: %v, want ErrNoPresence", err)
	}
	if _, err := l.PresenceFrame(context.Background(), "lobby"); !errors.Is(err, chat.ErrNoPresence) {
		t.Errorf("PresenceFrame: %v, want ErrNoPresence", err)
	}
}

func TestLiveTyping(t *testing.T) {
	t.Parallel()
	l, pub := newLive(t)
	ctx := context.Background()
	if err := l.Typing(ctx, "lobby", " ana ", true); err != nil {
		t.Fatal(err)
	}
	if err := l.Typing(ctx, "lobby", "ana", false); err != nil {
		t.Fatal(err)
	}
	if err := l.Typing(ctx, "nowhere", "ana", true); !errors.Is(err, chat.ErrRoomNotFound) {
		t.Errorf("unknown room: %v", err)
	}
	if err := l.Typing(ctx, "lobby", "a,b", true); !errors.Is(err, chat.ErrInvalidUser) {
		t.Errorf("invalid user: %v", err)
	}
	pubs := pub.Published()
	want := []string{
		"event: typing\ndata: {\"room\":\"lobby\",\"user\":\"ana\",\"typing\":true,\"ttl\":6}\n\n",
		"event: typing\ndata: {\"room\":\"lobby\",\"user\":\"ana\",\"typing\":false}\n\n",
	}
	if len(pubs) != len(want) {
		t.Fatalf("published %d, want %d", len(pubs), len(want))
	}
	for i, p := range pubs {
		if p.Channel != "room-lobby-live" || p.ID != "" || string(p.Frame) != want[i] {
			t.Errorf("publish %d: %s %q %q", i, p.Channel, p.ID, p.Frame)
		}
	}
}

func TestLiveArrive(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	store := chattest.NewPresenceStore()
	l, pub := newLive(t, chat.WithPresence(store, 30*time.Second), chat.WithLiveClock(func() time.Time { return now }))
	ctx := context.Background()
	l.Here(ctx, "lobby", chat.Visitor{User: "bob"})
	frame, err := l.Arrive(ctx, "lobby", chat.Visitor{User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	want := "event: presence-list\ndata: {\"room\":\"lobby\",\"ttl\":30,\"members\":[{\"user\":\"ana\",\"ttl\":30},{\"user\":\"bob\",\"ttl\":30}]}\n\n"
	if string(frame) != want {
		t.Errorf("frame %q, want %q", frame, want)
	}
	if pubs := pub.Published(); len(pubs) != 2 || !strings.Contains(string(pubs[1].Frame), `"user":"ana"`) {
		t.Errorf("published %d, want bob's then ana's presence", len(pubs))
	}
	// A second tab a moment later: listed, nothing published.
	if _, err := l.Arrive(ctx, "lobby", chat.Visitor{User: "ana"}); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.Published()); n != 2 {
		t.Errorf("published %d after a second tab, want still 2", n)
	}
	if _, err := l.Arrive(ctx, "nowhere", chat.Visitor{User: "ana"}); !errors.Is(err, chat.ErrRoomNotFound) {
		t.Errorf("unknown room: %v", err)
	}
}
