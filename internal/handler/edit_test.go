package handler

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// eventT is a captured API Gateway request.
type eventT = events.APIGatewayV2HTTPRequest

func TestEdit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sent := chattest.Seed(t, f.svc, testRoom, "alice", "Hello world")[0]
	ev := testkit.Event(t, "send-edit-message.json")

	resp := testkit.Invoke(t, f.send, ev)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, resp.Body)
	}
	m := decodeMessage(t, resp)
	if m.ID != sent.ID || m.Text != "Hello **everyone**" || !strings.Contains(m.HTML, "<strong>everyone</strong>") ||
		m.EditedAt == nil || m.User != "alice" || !m.SentAt.Equal(sent.SentAt) {
		t.Fatalf("edited message = %+v", m)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &raw)
	if at, _ := raw["editedAt"].(string); len(at) != len(chat.TimeFormat)-5 || !strings.HasSuffix(at, "Z") {
		t.Errorf("editedAt = %v, want a UTC time with milliseconds", raw["editedAt"])
	}
	pubs := f.pub.Published()
	if len(pubs) != 2 || pubs[1].ID != "2" || pubs[1].PrevID != "1" || !strings.Contains(string(pubs[1].Frame), "event: edit\n") ||
		!strings.Contains(string(pubs[1].Frame), `"text":"Hello **everyone**"`) {
		t.Fatalf("published = %+v, want an edit event with id 2 after the message", pubs)
	}

	// A repeat of the same edit (same clientId) changes and publishes
	// nothing.
	again := testkit.Invoke(t, f.send, ev)
	if again.StatusCode != http.StatusOK || decodeMessage(t, again).Text != m.Text {
		t.Fatalf("repeat: %d %s", again.StatusCode, again.Body)
	}
	if n := len(f.pub.Published()); n != 2 {
		t.Errorf("publishes after a repeat = %d, want 2", n)
	}

	// History and resume give the edited version.
	page, err := f.svc.History(context.Background(), testRoom, 0, 10)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Text != m.Text || page.Messages[0].EditedAt == nil {
		t.Fatalf("history = %+v, %v", page, err)
	}
	replay, err := f.svc.Resume(context.Background(), testRoom, 1)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := replay.Frames()
	if err != nil || !strings.Contains(string(frames), "id: 2\nevent: edit\n") || !strings.Contains(string(frames), "everyone") {
		t.Fatalf("resume after 1 = %q, %v; want the edit", frames, err)
	}

	// Once the message is deleted, a replay sends neither it nor its edit.
	if err := f.svc.Delete(context.Background(), testRoom, sent.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	replay, err = f.svc.Resume(context.Background(), testRoom, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, encode := range map[string]func() ([]byte, error){
		"Frames": replay.Frames,
		"FramesWithin": func() ([]byte, error) {
			b, _, err := replay.FramesWithin(1 << 20)
			return b, err
		},
	} {
		b, err := encode()
		if err != nil || strings.Contains(string(b), "event: edit") || strings.Contains(string(b), "everyone") ||
			!strings.Contains(string(b), "event: delete") {
			t.Errorf("%s after the delete = %q, %v; want only the delete", name, b, err)
		}
	}
}

func TestEditRefused(t *testing.T) {
	t.Parallel()
	ev := testkit.Event(t, "send-edit-message.json")
	body := func(text string) string {
		b, _ := json.Marshal(map[string]string{"text": text})
		return string(b)
	}
	tests := []struct {
		name   string
		ev     func(f *fixture) eventT
		status int
		msg    string
	}{
		{"someone else's", func(*fixture) eventT { return testkit.WithHeader(ev, "x-user", "bob") }, 403, "only the author may edit a message"},
		{"unknown id", func(*fixture) eventT { return testkit.WithPath(ev, "PATCH", "/room/devops-bcn/messages/9") }, 404, "message not found"},
		{"bad id", func(*fixture) eventT { return testkit.WithPath(ev, "PATCH", "/room/devops-bcn/messages/x") }, 400, "message id must be a positive integer"},
		{"unknown room", func(*fixture) eventT { return testkit.WithPath(ev, "PATCH", "/room/nowhere/messages/1") }, 404, "room not found"},
		{"deleted", func(f *fixture) eventT {
			if err := f.svc.Delete(context.Background(), testRoom, 1, "alice"); err != nil {
				t.Fatal(err)
			}
			return ev
		}, 409, "the message was deleted"},
		{"empty", func(*fixture) eventT { return testkit.WithBody(ev, body("   ")) }, 400, "message text is empty"},
		{"too long", func(*fixture) eventT { return testkit.WithBody(ev, body(strings.Repeat("é", 501))) }, 413, "message text is longer than 500 characters"},
		{"bad clientId", func(*fixture) eventT { return testkit.WithBody(ev, `{"text":"x","clientId":"nope"}`) }, 400, "clientId must be a UUID"},
		{"not JSON", func(*fixture) eventT { return testkit.WithHeader(ev, "content-type", "text/plain") }, 415, "Content-Type must be application/json"},
		{"no key", func(*fixture) eventT { return testkit.WithHeader(ev, "x-api-key", "") }, 401, "API key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			chattest.Seed(t, f.svc, testRoom, "alice", "original")
			before := f.store.LastID(t, testRoom)
			pubs := len(f.pub.Published())
			resp := testkit.Invoke(t, f.send, tt.ev(f))
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, resp.Body)
			}
			if got := testkit.ErrorOf(t, resp); got != tt.msg {
				t.Errorf("error = %q, want %q", got, tt.msg)
			}
			if tt.status != 409 && (f.store.LastID(t, testRoom) != before || len(f.pub.Published()) != pubs) {
				t.Error("a refused edit stored or published something")
			}
			if page, _ := f.svc.History(context.Background(), testRoom, 0, 1); tt.status != 409 && page.Messages[0].Text != "original" {
				t.Errorf("text became %q", page.Messages[0].Text)
			}
		})
	}
}

func TestEditFiltersProfanity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "fine")
	resp := testkit.Invoke(t, f.send, testkit.WithBody(testkit.Event(t, "send-edit-message.json"), `{"text":"oh shit"}`))
	if m := decodeMessage(t, resp); resp.StatusCode != 200 || strings.Contains(m.Text, "shit") {
		t.Errorf("edit = %d %+v, want the word masked as in a send", resp.StatusCode, m)
	}
}

func TestReact(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "bob", "party?")
	ev := testkit.Event(t, "send-react-message.json")
	type answer struct {
		ID      int64  `json:"id"`
		Room    string `json:"room"`
		User    string `json:"user"`
		Emoji   string `json:"emoji"`
		On      bool   `json:"on"`
		Changed bool   `json:"changed"`
	}
	decode := func(body string) answer {
		var a answer
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
		return a
	}
	resp := testkit.Invoke(t, f.send, ev)
	if resp.StatusCode != 200 || decode(resp.Body) != (answer{1, testRoom, "alice", "👍", true, true}) {
		t.Fatalf("react: %d %s", resp.StatusCode, resp.Body)
	}
	pubs := f.pub.Published()
	if len(pubs) != 2 || pubs[1].ID != "2" || !strings.Contains(string(pubs[1].Frame), "event: reaction\n") ||
		!strings.Contains(string(pubs[1].Frame), `"emoji":"👍","on":true`) {
		t.Fatalf("published %+v", pubs)
	}
	// The same again (another tab): nothing changes or is published.
	resp = testkit.Invoke(t, f.send, ev)
	if resp.StatusCode != 200 || decode(resp.Body).Changed {
		t.Fatalf("react again: %d %s, want changed false", resp.StatusCode, resp.Body)
	}
	if n := len(f.pub.Published()); n != 2 {
		t.Errorf("publishes = %d, want 2", n)
	}
	page, _ := f.svc.History(context.Background(), testRoom, 0, 1)
	if got := page.Messages[0].Reactions["👍"]; len(got) != 1 || got[0] != "alice" {
		t.Errorf("reactions = %v, want alice once", page.Messages[0].Reactions)
	}
	off := testkit.Invoke(t, f.send, testkit.WithBody(ev, `{"emoji":"👍","on":false}`))
	if off.StatusCode != 200 || !decode(off.Body).Changed {
		t.Fatalf("unreact: %d %s", off.StatusCode, off.Body)
	}
	page, _ = f.svc.History(context.Background(), testRoom, 0, 1)
	if len(page.Messages[0].Reactions) != 0 {
		t.Errorf("reactions after removing = %v", page.Messages[0].Reactions)
	}
	// Resume replays both reaction events.
	replay, _ := f.svc.Resume(context.Background(), testRoom, 1)
	frames, _ := replay.Frames()
	if strings.Count(string(frames), "event: reaction\n") != 2 {
		t.Errorf("resume = %q, want two reaction events", frames)
	}

	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"emoji outside the set", "/room/devops-bcn/messages/1/reactions", `{"emoji":"🍕","on":true}`, 400},
		{"no on", "/room/devops-bcn/messages/1/reactions", `{"emoji":"👍"}`, 400},
		{"not an object", "/room/devops-bcn/messages/1/reactions", `["👍"]`, 400},
		{"unknown message", "/room/devops-bcn/messages/7/reactions", `{"emoji":"👍","on":true}`, 404},
	} {
		resp := testkit.Invoke(t, f.send, testkit.WithBody(testkit.WithPath(ev, "PUT", tt.path), tt.body))
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d; %s", tt.name, resp.StatusCode, tt.status, resp.Body)
		}
		testkit.ErrorOf(t, resp)
	}
	if err := f.svc.Delete(context.Background(), testRoom, 1, "bob"); err != nil {
		t.Fatal(err)
	}
	if resp := testkit.Invoke(t, f.send, ev); resp.StatusCode != http.StatusConflict {
		t.Errorf("react to a deleted message: %d, want 409", resp.StatusCode)
	}
}

func TestEditAndReactRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one")
	send, _ := limitedSend(t, f, limit.Rules{
		limit.ActionEdit:  {Rate: 1, Per: time.Minute, Burst: 1},
		limit.ActionReact: {Rate: 1, Per: time.Minute, Burst: 1},
	})
	for name, ev := range map[string]eventT{
		"edit":  testkit.WithBody(testkit.Event(t, "send-edit-message.json"), `{"text":"two"}`),
		"react": testkit.Event(t, "send-react-message.json"),
	} {
		if resp := testkit.Invoke(t, send, ev); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		resp := testkit.Invoke(t, send, ev)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "60" {
			t.Errorf("%s again: %d, Retry-After %q; want 429 after 60", name, resp.StatusCode, resp.Headers["Retry-After"])
		}
	}
}
