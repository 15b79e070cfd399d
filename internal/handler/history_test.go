package handler

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

func TestRooms(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := testkit.Invoke(t, f.history, testkit.Event(t, "history-rooms.json"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; body %s", resp.StatusCode, resp.Body)
	}
	want := `{"rooms":[{"slug":"devops-exchange-ldn","name":"DevOps Exchange London"},{"slug":"devops-bcn","name":"DevOps Barcelona"}],"default":"devops-exchange-ldn"}` + "\n"
	if resp.Body != want {
		t.Errorf("body = %s, want %s", resp.Body, want)
	}
}

// pageJSON mirrors Page with pointers kept as raw JSON so null and absent
// can be told apart.
type pageJSON struct {
	Room     struct{ Slug, Name string } `json:"room"`
	Messages []struct {
		ID   int64  `json:"id"`
		Text string `json:"text"`
	} `json:"messages"`
	More        bool             `json:"more"`
	Before      json.RawMessage  `json:"before"`
	LastEventID *json.RawMessage `json:"lastEventId"`
}

func TestHistoryPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		query     string
		seed      int
		wantIDs   []int64
		wantMore  bool
		wantBefor string // raw JSON of "before"
		wantLast  string // raw JSON of "lastEventId"; "" = absent
	}{
		{"newest page of an empty room", "", 0, nil, false, "null", "0"},
		{"newest page", "", 5, []int64{5, 4, 3, 2, 1}, false, "1", "5"},
		{"newest page, limit", "limit=2", 5, []int64{5, 4}, true, "4", "5"},
		{"older page", "before=4&limit=2", 5, []int64{3, 2}, true, "2", ""},
		{"original app's lastId", "lastId=3", 5, []int64{2, 1}, false, "1", ""},
		{"before wins over lastId", "before=2&lastId=5", 5, []int64{1}, false, "1", ""},
		{"oldest page", "before=2&limit=2", 5, []int64{1}, false, "1", ""},
		{"limit 0 is the default", "limit=0", 25, []int64{25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6}, true, "6", "25"},
		{"huge limit is clamped", "limit=100000", 3, []int64{3, 2, 1}, false, "1", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			for i := 0; i < tt.seed; i++ {
				chattest.Seed(t, f.svc, testRoom, "alice", "message")
			}
			resp := testkit.Invoke(t, f.history, testkit.WithQuery(testkit.Event(t, "history-messages.json"), tt.query))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.StatusCode, resp.Body)
			}
			if cc := resp.Headers["Cache-Control"]; cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			var p pageJSON
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
			if p.Room.Slug != testRoom || p.Room.Name != "DevOps Barcelona" {
				t.Errorf("room = %+v", p.Room)
			}
			if p.Messages == nil {
				t.Errorf("messages is null, want an array: %s", resp.Body)
			}
			var ids []int64
			for _, m := range p.Messages {
				ids = append(ids, m.ID)
			}
			if len(ids) != len(tt.wantIDs) {
				t.Fatalf("ids = %v, want %v", ids, tt.wantIDs)
			}
			for i := range ids {
				if ids[i] != tt.wantIDs[i] {
					t.Fatalf("ids = %v, want %v", ids, tt.wantIDs)
				}
			}
			if p.More != tt.wantMore {
				t.Errorf("more = %v, want %v", p.More, tt.wantMore)
			}
			if string(p.Before) != tt.wantBefor {
				t.Errorf("before = %s, want %s", p.Before, tt.wantBefor)
			}
			switch {
			case tt.wantLast == "" && p.LastEventID != nil:
				t.Errorf("lastEventId = %s on an older page, want absent", *p.LastEventID)
			case tt.wantLast != "" && (p.LastEventID == nil || string(*p.LastEventID) != tt.wantLast):
				t.Errorf("lastEventId = %v, want %s", p.LastEventID, tt.wantLast)
			}
		})
	}
}

func TestHistoryCapturedOlderPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chattest.Seed(t, f.svc, testRoom, "alice", "one", "two", "three", "four")
	resp := testkit.Invoke(t, f.history, testkit.Event(t, "history-messages-before.json")) // before=3&limit=2
	var p pageJSON
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("status %d body %s: %v", resp.StatusCode, resp.Body, err)
	}
	if len(p.Messages) != 2 || p.Messages[0].Text != "two" || p.Messages[1].Text != "one" || p.More {
		t.Errorf("page = %s", resp.Body)
	}
}

func TestHistoryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		query      string
		wantStatus int
		wantError  string
	}{
		{"unknown room", "GET", "/room/nowhere/messages", "", 404, "room not found"},
		{"room not a slug", "GET", "/room/Not%20A%20Slug/messages", "", 404, "room not found"},
		{"before not a number", "GET", "/room/devops-bcn/messages", "before=abc", 400, "before, lastId and limit must be whole numbers"},
		{"negative before", "GET", "/room/devops-bcn/messages", "before=-3", 400, "before, lastId and limit must be whole numbers"},
		{"lastId not a number", "GET", "/room/devops-bcn/messages", "lastId=1e3", 400, "before, lastId and limit must be whole numbers"},
		{"limit not a number", "GET", "/room/devops-bcn/messages", "limit=ten", 400, "before, lastId and limit must be whole numbers"},
		{"negative limit", "GET", "/room/devops-bcn/messages", "limit=-1", 400, "before, lastId and limit must be whole numbers"},
		{"POST is the send function's", "POST", "/room/devops-bcn/messages", "", 405, "Method Not Allowed"},
		{"DELETE on rooms", "DELETE", "/rooms", "", 405, "Method Not Allowed"},
		{"unknown path", "GET", "/nothing", "", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ev := testkit.WithQuery(testkit.WithPath(testkit.Event(t, "history-messages.json"), tt.method, tt.path), tt.query)
			resp := testkit.Invoke(t, f.history, ev)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := testkit.ErrorOf(t, resp); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
		})
	}
}

func TestHistoryAllowHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := testkit.Invoke(t, f.history, testkit.WithPath(testkit.Event(t, "history-rooms.json"), "POST", "/rooms"))
	if got := resp.Headers["Allow"]; got != "GET, HEAD" {
		t.Errorf("Allow = %q, want GET, HEAD", got)
	}
}
