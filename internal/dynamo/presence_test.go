package dynamo_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// presenceCounter passes Presence's calls to DynamoDB Local and counts them.
type presenceCounter struct {
	next  *dynamodb.Client
	mu    sync.Mutex
	calls map[string]int
}

func (c *presenceCounter) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *presenceCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *presenceCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.next.UpdateItem(ctx, in, o...)
}

func (c *presenceCounter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.next.Query(ctx, in, o...)
}

func names(ps []chat.Presence) []string {
	var out []string
	for _, p := range ps {
		if p.User != "" {
			out = append(out, "u:"+p.User)
		} else {
			out = append(out, "g:"+p.Guest)
		}
	}
	slices.Sort(out)
	return out
}

// TestPresence: a touch writes, a second one within the gap does not, one
// after it does; Present lists who has not expired, users and guests apart,
// a user once however many touches; the room's event log is untouched.
// Every step's DynamoDB calls are pinned: one UpdateItem per touch, one
// Query per list, whatever the number of visitors.
func TestPresence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := &presenceCounter{next: local.client, calls: map[string]int{}}
	p, err := dynamo.NewPresence(api, testTable)
	if err != nil {
		t.Fatal(err)
	}
	room := unique(t, "room")
	t0 := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	ttl := 60 * time.Second
	touch := func(v chat.Visitor, now time.Time) bool {
		t.Helper()
		wrote, err := p.Touch(ctx, room, v, now, now.Add(ttl), now.Add(-5*time.Second))
		if err != nil {
			t.Fatalf("Touch %v: %v", v, err)
		}
		return wrote
	}
	type counts = map[string]int
	expectCalls := func(step string, want counts) {
		t.Helper()
		if got := api.take(); !maps.Equal(got, want) {
			t.Errorf("%s: calls %v, want %v", step, got, want)
		}
	}
	ana, bob, guest := chat.Visitor{User: "ana"}, chat.Visitor{User: "bob"}, chat.Visitor{Guest: "guest-0001"}

	if !touch(ana, t0) {
		t.Error("first touch of ana wrote nothing")
	}
	expectCalls("first touch", counts{"UpdateItem": 1})
	if touch(ana, t0.Add(time.Second)) {
		t.Error("a touch 1 s after the last one wrote")
	}
	expectCalls("touch within the gap", counts{"UpdateItem": 1})
	if !touch(ana, t0.Add(6*time.Second)) {
		t.Error("a touch 6 s after the last one wrote nothing")
	}
	touch(bob, t0.Add(10*time.Second))
	touch(guest, t0.Add(20*time.Second))
	api.take()

	list := func(at time.Time) []string {
		t.Helper()
		ps, err := p.Present(ctx, room, at)
		if err != nil {
			t.Fatalf("Present: %v", err)
		}
		return names(ps)
	}
	if got, want := list(t0.Add(30*time.Second)), []string{"g:guest-0001", "u:ana", "u:bob"}; !slices.Equal(got, want) {
		t.Errorf("present at +30s = %v, want %v", got, want)
	}
	expectCalls("list of three", counts{"Query": 1})
	// ana's last write was at +6 s, bob's at +10 s: at +67 s ana has expired.
	if got, want := list(t0.Add(67*time.Second)), []string{"g:guest-0001", "u:bob"}; !slices.Equal(got, want) {
		t.Errorf("present at +67s = %v, want %v", got, want)
	}
	if got := list(t0.Add(81 * time.Second)); len(got) != 0 {
		t.Errorf("present at +81s = %v, want nobody", got)
	}
	expectCalls("two more lists", counts{"Query": 2})

	// Until is what the last write said.
	ps, err := p.Present(ctx, room, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range ps {
		if pr.User == "ana" && !pr.Until.Equal(t0.Add(6*time.Second+ttl)) {
			t.Errorf("ana until %v, want %v", pr.Until, t0.Add(6*time.Second+ttl))
		}
	}

	// The event log of the room does not see the presence items.
	st := newStore(t)
	if _, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: "ana", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	evs, last, err := st.EventsAfter(ctx, room, 0, 10)
	if err != nil || last != 1 || len(evs) != 1 {
		t.Fatalf("EventsAfter = %d events, last %d, %v; want 1, 1", len(evs), last, err)
	}
	page, err := st.Messages(ctx, room, 0, 10)
	if err != nil || len(page.Messages) != 1 || page.LastEventID != 1 {
		t.Fatalf("Messages = %+v, %v; want one message, lastEventId 1", page, err)
	}
	if _, err := st.ClearRoom(ctx, room, ""); err != nil {
		t.Fatal(err)
	}
	if got := list(t0.Add(30 * time.Second)); len(got) != 3 {
		t.Errorf("after a room clear present = %v, want the three visitors still", got)
	}
}

func TestNewPresenceRefuses(t *testing.T) {
	t.Parallel()
	if _, err := dynamo.NewPresence(nil, testTable); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := dynamo.NewPresence(local.client, "x"); err == nil {
		t.Error("short table name accepted")
	}
}
