package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/render"
)

func TestParseRooms(t *testing.T) {
	t.Parallel()
	rs, err := chat.ParseRooms(chat.DefaultRooms)
	if err != nil {
		t.Fatal(err)
	}
	if d := rs.Default(); d.Slug != "devops-exchange-ldn" || d.Name != "DevOps Exchange London" {
		t.Fatalf("Default = %+v", d)
	}
	if r, err := rs.Lookup("devops-bcn"); err != nil || r.Name != "DevOps Barcelona" {
		t.Fatalf("Lookup = %+v, %v", r, err)
	}
	if _, err := rs.Lookup("nope"); !errors.Is(err, chat.ErrRoomNotFound) {
		t.Fatalf("Lookup unknown err = %v", err)
	}
	if got := len(rs.All()); got != 2 {
		t.Fatalf("All = %d rooms", got)
	}
	if rs, err := chat.ParseRooms(" solo "); err != nil || rs.Default().Name != "solo" {
		t.Fatalf("name defaults to slug: %+v %v", rs, err)
	}
	for name, spec := range map[string]string{
		"empty":     "",
		"commas":    ",,",
		"uppercase": "Room:Name",
		"dup":       "a:A,a:B",
		"too long":  strings.Repeat("a", 65),
		"slash":     "a/b:x",
	} {
		if _, err := chat.ParseRooms(spec); err == nil {
			t.Errorf("%s: ParseRooms(%q) succeeded", name, spec)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"trim", "  hi  ", "hi", nil},
		{"crlf", "a\r\nb\rc", "a\nb\nc", nil},
		{"tab kept", "a\tb", "a\tb", nil},
		{"max", strings.Repeat("é", 500), strings.Repeat("é", 500), nil},
		{"too long", strings.Repeat("a", 501), "", chat.ErrTextTooLong},
		{"empty", " \n\t ", "", chat.ErrEmptyText},
		{"bad utf8", "a\xffb", "", chat.ErrInvalidText},
		{"control", "a\x00b", "", chat.ErrInvalidText},
		{"escape", "a\x1b[31mb", "", chat.ErrInvalidText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := chat.NormalizeText(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNormalizeUserAndClientID(t *testing.T) {
	t.Parallel()
	if u, err := chat.NormalizeUser(" ana "); err != nil || u != "ana" {
		t.Fatalf("NormalizeUser = %q %v", u, err)
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 65), "a\nb", "\xff"} {
		if _, err := chat.NormalizeUser(bad); !errors.Is(err, chat.ErrInvalidUser) {
			t.Errorf("NormalizeUser(%q) err = %v", bad, err)
		}
	}
	if id, err := chat.NormalizeClientID("0E8C5B0A-1C2D-4E5F-8A9B-0C1D2E3F4A5B"); err != nil || id != "0e8c5b0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b" {
		t.Fatalf("NormalizeClientID = %q %v", id, err)
	}
	if id, err := chat.NormalizeClientID(""); err != nil || id != "" {
		t.Fatalf("empty clientId = %q %v", id, err)
	}
	for _, bad := range []string{"x", "0e8c5b0a1c2d4e5f8a9b0c1d2e3f4a5b", "0e8c5b0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b\n"} {
		if _, err := chat.NormalizeClientID(bad); !errors.Is(err, chat.ErrInvalidClientID) {
			t.Errorf("NormalizeClientID(%q) err = %v", bad, err)
		}
	}
}

func newService(t *testing.T, opts ...chat.Option) (*chat.Service, *chattest.Store, *chattest.Publisher) {
	t.Helper()
	rooms, err := chat.ParseRooms("r1:Room One,r2:Room Two")
	if err != nil {
		t.Fatal(err)
	}
	st, pub := chattest.NewStore(), chattest.NewPublisher()
	opts = append([]chat.Option{chat.WithRenderer(render.New(true))}, opts...)
	svc, err := chat.NewService(st, pub, rooms, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, pub
}

const cid = "0e8c5b0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

func TestSendPublishesOnceAndIsIdempotent(t *testing.T) {
	t.Parallel()
	svc, _, pub := newService(t)
	ctx := context.Background()
	m, created, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "ana", Text: " *hi* ", ClientID: cid})
	if err != nil || !created {
		t.Fatalf("Send = %v, %v", created, err)
	}
	if m.ID != 1 || m.Text != "*hi*" || m.HTML != "<em>hi</em>" || m.User != "ana" || m.ClientID != cid || m.SentAt.IsZero() {
		t.Fatalf("message = %+v", m)
	}
	again, created, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "ana", Text: "other", ClientID: strings.ToUpper(cid)})
	if err != nil || created || again.ID != 1 || again.Text != "*hi*" {
		t.Fatalf("retry = %+v, %v, %v", again, created, err)
	}
	got := pub.Published()
	if len(got) != 1 {
		t.Fatalf("published %d times", len(got))
	}
	p := got[0]
	if p.Channel != "room-r1" || p.ID != "1" || p.PrevID != "0" {
		t.Fatalf("publish = %+v", p)
	}
	frame := string(p.Frame)
	if !strings.HasPrefix(frame, "id: 1\nevent: message\ndata: {") || !strings.Contains(frame, `"html":"\u003cem\u003ehi\u003c/em\u003e"`) {
		t.Fatalf("frame = %q", frame)
	}
}

func TestSendRejectsBadInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   chat.SendInput
		err  error
	}{
		{"unknown room", chat.SendInput{Room: "nope", User: "a", Text: "x"}, chat.ErrRoomNotFound},
		{"no user", chat.SendInput{Room: "r1", Text: "x"}, chat.ErrInvalidUser},
		{"empty", chat.SendInput{Room: "r1", User: "a", Text: "  "}, chat.ErrEmptyText},
		{"too long", chat.SendInput{Room: "r1", User: "a", Text: strings.Repeat("a", 501)}, chat.ErrTextTooLong},
		{"bad utf8", chat.SendInput{Room: "r1", User: "a", Text: "\xff"}, chat.ErrInvalidText},
		{"bad client id", chat.SendInput{Room: "r1", User: "a", Text: "x", ClientID: "nope"}, chat.ErrInvalidClientID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, st, pub := newService(t)
			if _, _, err := svc.Send(context.Background(), tc.in); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if last, _ := st.LastEventID(context.Background(), "r1"); last != 0 {
				t.Fatalf("stored %d events", last)
			}
			if n := len(pub.Published()); n != 0 {
				t.Fatalf("published %d", n)
			}
		})
	}
}

func TestSendSucceedsWhenPublishFails(t *testing.T) {
	t.Parallel()
	svc, st, pub := newService(t)
	pub.Err = chattest.ErrPublish
	m, created, err := svc.Send(context.Background(), chat.SendInput{Room: "r1", User: "a", Text: "kept"})
	if err != nil || !created || m.ID != 1 {
		t.Fatalf("Send = %+v %v %v", m, created, err)
	}
	if last, err := st.LastEventID(context.Background(), "r1"); err != nil || last != 1 {
		t.Fatalf("stored last id = %d, %v; want 1", last, err)
	}
	if n := len(pub.Published()); n != 0 {
		t.Fatalf("published %d frames through a failing publisher", n)
	}
	rep, err := svc.Resume(context.Background(), "r1", 0)
	if err != nil || len(rep.Events) != 1 || rep.Events[0].Message.Text != "kept" {
		t.Fatalf("Resume = %+v, %v", rep, err)
	}
}

func TestSendFailsWhenStoreFails(t *testing.T) {
	t.Parallel()
	svc, st, pub := newService(t)
	st.Err = errors.New("boom")
	if _, _, err := svc.Send(context.Background(), chat.SendInput{Room: "r1", User: "a", Text: "x"}); err == nil {
		t.Fatal("Send succeeded with a failing store")
	}
	if len(pub.Published()) != 0 {
		t.Fatal("published although nothing was stored")
	}
}

func TestDeleteAndClear(t *testing.T) {
	t.Parallel()
	svc, _, pub := newService(t)
	ctx := context.Background()
	m1, _, _ := svc.Send(ctx, chat.SendInput{Room: "r1", User: "ana", Text: "one"})
	_, _, _ = svc.Send(ctx, chat.SendInput{Room: "r1", User: "bob", Text: "two"})
	_, _, _ = svc.Send(ctx, chat.SendInput{Room: "r2", User: "ana", Text: "three"})
	if err := svc.Delete(ctx, "r1", m1.ID, "bob"); !errors.Is(err, chat.ErrForbidden) {
		t.Fatalf("delete by other: %v", err)
	}
	if err := svc.Delete(ctx, "r1", 99, "ana"); !errors.Is(err, chat.ErrMessageNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	if err := svc.Delete(ctx, "r1", m1.ID, "ana"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := svc.Delete(ctx, "r1", m1.ID, "ana"); !errors.Is(err, chat.ErrMessageNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	last := pub.Published()[len(pub.Published())-1]
	if last.ID != "3" || last.PrevID != "2" || !strings.Contains(string(last.Frame), "event: delete\ndata: {\"id\":1,") {
		t.Fatalf("delete publish = %+v %q", last, last.Frame)
	}
	page, err := svc.History(ctx, "r1", 0, 0)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Text != "two" || page.LastEventID != 3 {
		t.Fatalf("history after delete = %+v %v", page, err)
	}
	rooms, err := svc.ClearUser(ctx, "ana")
	if err != nil || len(rooms) != 1 || rooms[0] != "r2" {
		t.Fatalf("ClearUser = %v %v", rooms, err)
	}
	if err := svc.ClearRoom(ctx, "r1", ""); err != nil {
		t.Fatal(err)
	}
	page, _ = svc.History(ctx, "r1", 0, 0)
	if len(page.Messages) != 0 {
		t.Fatalf("history after clear = %+v", page)
	}
	last = pub.Published()[len(pub.Published())-1]
	if last.Channel != "room-r1" || !strings.Contains(string(last.Frame), "event: refresh") {
		t.Fatalf("clear publish = %+v", last)
	}
}

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t)
	ctx := context.Background()
	// More messages than the largest page, so the clamp below is observable.
	const total = chat.MaxPageSize + 5
	for i := 0; i < total; i++ {
		if _, _, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "a", Text: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	before := int64(0)
	for {
		page, err := svc.History(ctx, "r1", before, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		if !page.More {
			break
		}
		before = page.Messages[len(page.Messages)-1].ID
	}
	if len(ids) != total || ids[0] != total || ids[total-1] != 1 {
		t.Fatalf("paged ids = %v", ids)
	}
	page, err := svc.History(ctx, "r1", 0, 1000)
	if err != nil || len(page.Messages) != chat.MaxPageSize || !page.More {
		t.Fatalf("limit 1000: %d messages, more=%v, err %v; want %d clamped, more", len(page.Messages), page.More, err, chat.MaxPageSize)
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	svc, st, _ := newService(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, _, _ = svc.Send(ctx, chat.SendInput{Room: "r1", User: "a", Text: "m"})
	}
	_ = svc.Delete(ctx, "r1", 2, "a") // event 6, tombstone at 2

	t.Run("no point", func(t *testing.T) {
		rep, err := svc.Resume(ctx, "r1", -1)
		if err != nil || len(rep.Events) != 0 || rep.LastID != 6 {
			t.Fatalf("%+v %v", rep, err)
		}
	})
	t.Run("up to date", func(t *testing.T) {
		rep, _ := svc.Resume(ctx, "r1", 6)
		if len(rep.Events) != 0 || rep.LastID != 6 {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("across tombstone", func(t *testing.T) {
		rep, _ := svc.Resume(ctx, "r1", 1)
		if len(rep.Events) != 5 || rep.LastID != 6 {
			t.Fatalf("%+v", rep)
		}
		frames, err := rep.Frames()
		if err != nil {
			t.Fatal(err)
		}
		s := string(frames)
		if strings.Contains(s, "id: 2\n") || !strings.Contains(s, "id: 3\n") || !strings.Contains(s, "id: 6\nevent: delete") {
			t.Fatalf("frames = %q", s)
		}
	})
	t.Run("future point resets", func(t *testing.T) {
		rep, _ := svc.Resume(ctx, "r1", 60)
		if len(rep.Events) != 1 || rep.Events[0].Type != chat.EventStreamReset || rep.LastID != 6 {
			t.Fatalf("%+v", rep)
		}
		frames, _ := rep.Frames()
		if string(frames) != "id: 6\nevent: stream-reset\ndata: {\"room\":\"r1\"}\n\n" {
			t.Fatalf("frames = %q", frames)
		}
	})
	t.Run("expired history resets", func(t *testing.T) {
		st.Expire("r1", 3)
		rep, _ := svc.Resume(ctx, "r1", 1)
		if len(rep.Events) != 1 || rep.Events[0].Type != chat.EventStreamReset {
			t.Fatalf("%+v", rep)
		}
		rep, _ = svc.Resume(ctx, "r1", 3)
		if len(rep.Events) != 3 || rep.Events[0].ID != 4 {
			t.Fatalf("after the expired part: %+v", rep)
		}
	})
	t.Run("unknown room", func(t *testing.T) {
		if _, err := svc.Resume(ctx, "zz", 0); !errors.Is(err, chat.ErrRoomNotFound) {
			t.Fatal(err)
		}
	})
}

func TestConcurrentSendsGetDistinctIDs(t *testing.T) {
	t.Parallel()
	svc, _, pub := newService(t)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := svc.Send(context.Background(), chat.SendInput{Room: "r1", User: "a", Text: "x"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, p := range pub.Published() {
		if seen[p.ID] {
			t.Fatalf("id %s published twice", p.ID)
		}
		seen[p.ID] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d ids", len(seen))
	}
}

func TestNormalizeRejectsInvisibleAndCommas(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"zero-width space only": "\u200b\u200b",
		"BOM only":              "\ufeff",
		"joiner and spaces":     " \u200d \n",
	} {
		if _, err := chat.NormalizeText(text); !errors.Is(err, chat.ErrEmptyText) {
			t.Errorf("%s: NormalizeText err = %v, want ErrEmptyText", name, err)
		}
	}
	for name, text := range map[string]string{
		"replacement character": "a\ufffdb",
		"emoji with joiner":     "👩\u200d💻",
	} {
		if _, err := chat.NormalizeText(text); err != nil {
			t.Errorf("%s: NormalizeText err = %v, want nil", name, err)
		}
	}
	for _, user := range []string{"ana\u200b", "\u202eana", "a,b", "Smith, John", "\ufeffbob"} {
		if _, err := chat.NormalizeUser(user); !errors.Is(err, chat.ErrInvalidUser) {
			t.Errorf("NormalizeUser(%q) err = %v, want ErrInvalidUser", user, err)
		}
	}
}

func TestSendRefusesAnotherUsersClientID(t *testing.T) {
	t.Parallel()
	svc, st, pub := newService(t)
	ctx := context.Background()
	if _, _, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "ana", Text: "mine", ClientID: cid}); err != nil {
		t.Fatal(err)
	}
	_, _, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "mallory", Text: "theirs", ClientID: cid})
	if !errors.Is(err, chat.ErrClientIDTaken) {
		t.Fatalf("err = %v, want ErrClientIDTaken", err)
	}
	if last, _ := st.LastEventID(ctx, "r1"); last != 1 || len(pub.Published()) != 1 {
		t.Fatalf("last id %d, %d publishes; want 1, 1", last, len(pub.Published()))
	}
}

func TestMessageJSONTimeHasMilliseconds(t *testing.T) {
	t.Parallel()
	m := chat.Message{ID: 1, SentAt: time.Date(2026, 1, 2, 3, 4, 5, 100e6, time.FixedZone("x", 3600))}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"sentAt":"2026-01-02T02:04:05.100Z"`) || strings.Count(string(b), "sentAt") != 1 {
		t.Fatalf("JSON = %s", b)
	}
}

func TestSendWithoutRendererStoresNothing(t *testing.T) {
	t.Parallel()
	rooms, err := chat.ParseRooms("r1:Room One")
	if err != nil {
		t.Fatal(err)
	}
	st, pub := chattest.NewStore(), chattest.NewPublisher()
	svc, err := chat.NewService(st, pub, rooms)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := svc.Send(ctx, chat.SendInput{Room: "r1", User: "ana", Text: "hi"}); !errors.Is(err, chat.ErrNoRenderer) {
		t.Fatalf("Send err = %v, want ErrNoRenderer", err)
	}
	if last, _ := st.LastEventID(ctx, "r1"); last != 0 || len(pub.Published()) != 0 {
		t.Fatalf("last id %d, %d publishes; want nothing stored or published", last, len(pub.Published()))
	}
}
