package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// send appends a message and fails the test on error.
func send(t *testing.T, st *dynamo.Store, room, user, text, clientID string) chat.Event {
	t.Helper()
	ev, created, err := st.AppendMessage(context.Background(), chat.Message{
		Room: room, User: user, Text: text, HTML: "<p>" + text + "</p>", ClientID: clientID,
	})
	if err != nil {
		t.Fatalf("AppendMessage(%s, %q): %v", room, text, err)
	}
	if !created {
		t.Fatalf("AppendMessage(%s, %q): created = false, want true", room, text)
	}
	return ev
}

// allEvents reads every event of room after after.
func allEvents(t *testing.T, st *dynamo.Store, room string, after int64) ([]chat.Event, int64) {
	t.Helper()
	evs, last, err := st.EventsAfter(context.Background(), room, after, 10_000)
	if err != nil {
		t.Fatalf("EventsAfter(%s, %d): %v", room, after, err)
	}
	return evs, last
}

// ids lists the ids of events.
func ids(evs []chat.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// messageIDs lists the ids of messages.
func messageIDs(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// seq returns from, from+1, …, to.
func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestAppendMessageAssignsIDsAndTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("CET", 3600))
	st := newStore(t, dynamo.WithClock(func() time.Time { return at }))
	room := unique(t, "room")
	for i := int64(1); i <= 5; i++ {
		ev := send(t, st, room, "alice", "hello "+strconv.FormatInt(i, 10), "")
		if ev.ID != i || ev.Message.ID != i {
			t.Fatalf("message %d: event id %d, message id %d", i, ev.ID, ev.Message.ID)
		}
		want := at.UTC().Truncate(time.Millisecond)
		if !ev.At.Equal(want) || ev.At.Location() != time.UTC || !ev.Message.SentAt.Equal(want) {
			t.Fatalf("message %d: At %v, SentAt %v, want %v in UTC", i, ev.At, ev.Message.SentAt, want)
		}
	}
	evs, last := allEvents(t, st, room, 0)
	if last != 5 || !slices.Equal(ids(evs), seq(1, 5)) {
		t.Fatalf("EventsAfter(0) = ids %v, last %d; want 1..5, 5", ids(evs), last)
	}
	got := *evs[2].Message
	want := chat.Message{ID: 3, Room: room, User: "alice", Text: "hello 3", HTML: "<p>hello 3</p>",
		SentAt: at.UTC().Truncate(time.Millisecond)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored message = %+v, want %+v", got, want)
	}
	if id, err := st.LastEventID(context.Background(), room); err != nil || id != 5 {
		t.Fatalf("LastEventID = %d, %v; want 5", id, err)
	}
}

func TestAppendMessageIdempotentClientID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room, other := unique(t, "room"), unique(t, "room")
	const cid = "0b7c4cf0-4f36-4c8a-9c0e-3d1f7c7f1a11"

	first := send(t, st, room, "alice", "first", cid)
	send(t, st, room, "bob", "between", "")
	again, created, err := st.AppendMessage(ctx, chat.Message{Room: room, User: "alice", Text: "retry", ClientID: cid})
	if err != nil {
		t.Fatalf("repeat AppendMessage: %v", err)
	}
	if created || again.ID != first.ID || again.Message == nil || again.Message.Text != "first" || again.Message.ClientID != cid {
		t.Fatalf("repeat = %+v (message %+v), created %v; want the first message, created false", again, again.Message, created)
	}
	if evs, last := allEvents(t, st, room, 0); last != 2 || len(evs) != 2 {
		t.Fatalf("after a repeat: %d events, last %d; want 2, 2", len(evs), last)
	}
	// Keys are per room: the same clientId elsewhere is a new message.
	if ev := send(t, st, other, "alice", "elsewhere", cid); ev.ID != 1 {
		t.Fatalf("same clientId in another room: id %d, want 1", ev.ID)
	}
}

func TestAppendMessageConcurrentSenders(t *testing.T) {
	t.Parallel()
	// The default retry policy throughout. Two senders, one of which sends
	// again as soon as it has won, must never be turned away: the loser may
	// not starve. Twenty at once on one room is heavy for DynamoDB Local on
	// two shared cores: a sender may then get ErrConflict after the retry
	// budget, and does what the API's clients do on 503 — send again with
	// the same clientId — which must neither lose nor duplicate a message.
	// The cases run one after the other so that each sees only its own
	// contention.
	//
	// The retry budget is wall-clock time: on a loaded machine (CI, -race,
	// other suites) the default one can run out without any starvation. The
	// two senders' case is about fairness, so it gets a budget no stall
	// reaches; the twenty senders' case keeps the default and resends.
	tests := []struct {
		name          string
		senders, each int
		resend        bool
		opts          []dynamo.Option
	}{
		{"two sequential senders", 2, 100, false, []dynamo.Option{dynamo.WithRetryBudget(5 * time.Minute)}},
		{"twenty senders", 20, 10, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t, tc.opts...)
			room := unique(t, "room")
			total := int64(tc.senders * tc.each)
			var wg sync.WaitGroup
			var resent atomic.Int64
			errs := make(chan error, total)
			for s := range tc.senders {
				wg.Go(func() {
					for i := range tc.each {
						m := chat.Message{
							Room: room, User: "u" + strconv.Itoa(s), Text: fmt.Sprintf("%d/%d", s, i),
							ClientID: fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", s, i),
						}
						_, created, err := st.AppendMessage(context.Background(), m)
						// A client resends on 503 until it gets through; the bound only
						// keeps a broken store from looping forever (each try takes
						// up to the retry budget, seconds, on a loaded machine).
						for try := 0; tc.resend && errors.Is(err, chat.ErrConflict) && try < 100; try++ {
							resent.Add(1)
							_, created, err = st.AppendMessage(context.Background(), m)
						}
						if err == nil && !created && !tc.resend {
							err = errors.New("created = false for a new clientId")
						}
						if err != nil {
							errs <- fmt.Errorf("sender %d message %d: %w", s, i, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := resent.Load(); n > 0 {
				t.Logf("%d sends were repeated after ErrConflict", n)
			}
			evs, last := allEvents(t, st, room, 0)
			if last != total || !slices.Equal(ids(evs), seq(1, total)) {
				t.Fatalf("ids = %v, last %d; want exactly 1..%d", ids(evs), last, total)
			}
			texts := map[string]int64{}
			for _, ev := range evs {
				if prev, dup := texts[ev.Message.Text]; dup {
					t.Errorf("text %q stored twice: ids %d and %d", ev.Message.Text, prev, ev.ID)
				}
				texts[ev.Message.Text] = ev.ID
			}
			if int64(len(texts)) != total {
				t.Fatalf("%d distinct messages stored, want %d", len(texts), total)
			}
		})
	}
}

func TestDeleteMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	a := send(t, st, room, "alice", "a", "")
	b := send(t, st, room, "bob", "b", "")
	del, err := st.DeleteMessage(ctx, room, a.ID, "alice")
	if err != nil {
		t.Fatalf("DeleteMessage by the author: %v", err)
	}
	if del.ID != 3 || del.Type != chat.EventDelete || del.DeletedID != a.ID || del.Room != room {
		t.Fatalf("delete event = %+v, want id 3 deleting %d", del, a.ID)
	}
	tests := []struct {
		name string
		id   int64
		user string
		want error
	}{
		{"other author", b.ID, "alice", chat.ErrForbidden},
		{"unknown id", 99, "alice", chat.ErrMessageNotFound},
		{"zero id", 0, "alice", chat.ErrMessageNotFound},
		{"deleted twice", a.ID, "alice", chat.ErrMessageNotFound},
		{"a delete event", del.ID, "alice", chat.ErrMessageNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.DeleteMessage(ctx, room, tc.id, tc.user); !errors.Is(err, tc.want) {
				t.Fatalf("DeleteMessage(%d, %s) = %v, want %v", tc.id, tc.user, err, tc.want)
			}
		})
	}
	// The refused deletes appended nothing; the tombstone keeps ids
	// contiguous.
	evs, last := allEvents(t, st, room, 0)
	if last != 3 || !slices.Equal(ids(evs), seq(1, 3)) {
		t.Fatalf("events %v, last %d; want 1..3", ids(evs), last)
	}
	if evs[0].Type != chat.EventMessage || evs[0].Message != nil {
		t.Fatalf("deleted message event = %+v, want a tombstone (type message, nil Message)", evs[0])
	}
	if evs[2].Type != chat.EventDelete || evs[2].DeletedID != a.ID {
		t.Fatalf("event 3 = %+v, want the delete of %d", evs[2], a.ID)
	}
	page, err := st.Messages(ctx, room, 0, 10)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if !slices.Equal(messageIDs(page.Messages), []int64{b.ID}) {
		t.Fatalf("Messages after delete = %v, want [%d]", messageIDs(page.Messages), b.ID)
	}
	rooms, err := st.UserRooms(ctx, "alice")
	if err != nil || slices.Contains(rooms, room) {
		t.Fatalf("UserRooms(alice) = %v, %v; want no %s (its only message is deleted)", rooms, err, room)
	}
}

func TestDeleteMessageFreesClientID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	const cid = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
	first := send(t, st, room, "alice", "first", cid)
	if _, err := st.DeleteMessage(ctx, room, first.ID, "alice"); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	// The deleted message no longer exists, so the clientId names none.
	again := send(t, st, room, "alice", "again", cid)
	if again.ID != 3 {
		t.Fatalf("send after delete: id %d, want 3", again.ID)
	}
}

func TestClearRoomWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room, other := unique(t, "room"), unique(t, "room")
	const cid = "11111111-2222-4333-8444-555555555555"
	send(t, st, room, "alice", "one", cid)
	two := send(t, st, room, "bob", "two", "")
	if _, err := st.DeleteMessage(ctx, room, two.ID, "bob"); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	send(t, st, room, "carol", "four", "22222222-2222-4333-8444-555555555555")
	send(t, st, other, "alice", "kept", cid)

	ref, err := st.ClearRoom(ctx, room, "")
	if err != nil {
		t.Fatalf("ClearRoom: %v", err)
	}
	if ref.ID != 5 || ref.Type != chat.EventRefresh || ref.User != "" || ref.Room != room {
		t.Fatalf("refresh = %+v, want id 5, whole room", ref)
	}
	// A client that had seen event 2 resumes: the first event is 5, a gap.
	evs, last := allEvents(t, st, room, 2)
	if last != 5 || !slices.Equal(ids(evs), []int64{5}) || evs[0].Type != chat.EventRefresh {
		t.Fatalf("events after 2 = %v, last %d; want only the refresh 5", ids(evs), last)
	}
	page, err := st.Messages(ctx, room, 0, 20)
	if err != nil || len(page.Messages) != 0 || page.More || page.LastEventID != 5 {
		t.Fatalf("Messages after clear = %+v, %v; want none, last event 5", page, err)
	}
	// The clientId keys went with the messages.
	if again := send(t, st, room, "alice", "one again", cid); again.ID != 6 {
		t.Fatalf("send after clear: id %d, want 6", again.ID)
	}
	if rooms, err := st.UserRooms(ctx, "carol"); err != nil || slices.Contains(rooms, room) {
		t.Fatalf("UserRooms(carol) = %v, %v; want no %s", rooms, err, room)
	}
	// Another room is untouched.
	if evs, _ := allEvents(t, st, other, 0); len(evs) != 1 || evs[0].Message == nil {
		t.Fatalf("other room = %+v, want its one message", evs)
	}
}

func TestClearRoomOneUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room, other := unique(t, "room"), unique(t, "room")
	alice, bob := unique(t, "alice"), unique(t, "bob")
	const cid = "33333333-2222-4333-8444-555555555555"
	send(t, st, room, alice, "a1", cid)
	send(t, st, room, bob, "b2", "")
	send(t, st, room, alice, "a3", "")
	send(t, st, other, alice, "elsewhere", "")

	ref, err := st.ClearRoom(ctx, room, alice)
	if err != nil {
		t.Fatalf("ClearRoom(%s): %v", alice, err)
	}
	if ref.ID != 4 || ref.Type != chat.EventRefresh || ref.User != alice {
		t.Fatalf("refresh = %+v, want id 4 for %s", ref, alice)
	}
	late := send(t, st, room, alice, "after the clear", "")

	page, err := st.Messages(ctx, room, 0, 20)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if !slices.Equal(messageIDs(page.Messages), []int64{late.ID, 2}) || page.LastEventID != 5 {
		t.Fatalf("Messages = %v (last %d), want [%d 2], last 5", messageIDs(page.Messages), page.LastEventID, late.ID)
	}
	// Cleared messages become tombstones: a resume from before the clear
	// gets contiguous ids, nothing of alice's text, then the refresh.
	evs, last := allEvents(t, st, room, 0)
	if last != 5 || !slices.Equal(ids(evs), seq(1, 5)) {
		t.Fatalf("events = %v, last %d; want 1..5", ids(evs), last)
	}
	for _, i := range []int{0, 2} {
		if evs[i].Type != chat.EventMessage || evs[i].Message != nil {
			t.Fatalf("cleared event %d = %+v, want a tombstone", evs[i].ID, evs[i])
		}
	}
	if evs[3].Type != chat.EventRefresh || evs[3].User != alice {
		t.Fatalf("event 4 = %+v, want the refresh for %s", evs[3], alice)
	}
	rooms, err := st.UserRooms(ctx, alice)
	if err != nil || !slices.Equal(rooms, sorted(other, room)) {
		t.Fatalf("UserRooms(%s) = %v, %v; want %v (the late message keeps %s)", alice, rooms, err, sorted(other, room), room)
	}
	if _, err := st.DeleteMessage(ctx, room, 1, alice); !errors.Is(err, chat.ErrMessageNotFound) {
		t.Fatalf("DeleteMessage of a cleared message = %v, want ErrMessageNotFound", err)
	}
	if again := send(t, st, room, alice, "a1 again", cid); again.ID != 6 {
		t.Fatalf("send with a cleared clientId: id %d, want 6", again.ID)
	}
}

// sorted returns its arguments in order.
func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestUserRooms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	user := unique(t, "user")
	base := unique(t, "r")
	// "x" and "x-b" share a prefix: the walk must not skip or repeat one.
	rooms := []string{base + "-b", base, base + "-a", base + "-a-b"}
	for i, room := range rooms {
		for j := 0; j <= i; j++ {
			send(t, st, room, user, fmt.Sprintf("m%d", j), "")
		}
		send(t, st, room, "someone-else", "noise", "")
	}
	got, err := st.UserRooms(ctx, user)
	if err != nil {
		t.Fatalf("UserRooms: %v", err)
	}
	if want := sorted(rooms...); !slices.Equal(got, want) {
		t.Fatalf("UserRooms = %v, want %v", got, want)
	}
	if got, err := st.UserRooms(ctx, unique(t, "nobody")); err != nil || len(got) != 0 {
		t.Fatalf("UserRooms(nobody) = %v, %v; want none", got, err)
	}
}

func TestMessagesPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	if page, err := st.Messages(ctx, room, 0, 5); err != nil || len(page.Messages) != 0 || page.More || page.LastEventID != 0 {
		t.Fatalf("empty room = %+v, %v; want nothing", page, err)
	}
	// Ids 1..12 are messages; 4..7 and 10 are deleted (delete events
	// 13..17), so runs of tombstones sit inside pages.
	for i := 1; i <= 12; i++ {
		send(t, st, room, "alice", "m"+strconv.Itoa(i), "")
	}
	for _, id := range []int64{4, 5, 6, 7, 10} {
		if _, err := st.DeleteMessage(ctx, room, id, "alice"); err != nil {
			t.Fatalf("DeleteMessage(%d): %v", id, err)
		}
	}
	live := []int64{12, 11, 9, 8, 3, 2, 1}
	tests := []struct {
		name     string
		before   int64
		limit    int
		want     []int64
		more     bool
		lastEvID int64
	}{
		{"newest", 0, 3, []int64{12, 11, 9}, true, 17},
		{"newest negative before", -1, 3, []int64{12, 11, 9}, true, 17},
		{"across tombstones", 9, 3, []int64{8, 3, 2}, true, 0},
		{"last page exactly", 3, 2, []int64{2, 1}, false, 0},
		{"last page short", 3, 5, []int64{2, 1}, false, 0},
		{"everything", 0, 7, live, false, 17},
		{"everything with room", 0, 100, live, false, 17},
		{"before the first", 1, 5, nil, false, 0},
		{"before a tombstone run", 8, 1, []int64{3}, true, 0},
		{"before an id above last", 100, 2, []int64{12, 11}, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, err := st.Messages(ctx, room, tc.before, tc.limit)
			if err != nil {
				t.Fatalf("Messages(%d, %d): %v", tc.before, tc.limit, err)
			}
			if got := messageIDs(page.Messages); !slices.Equal(got, tc.want) || page.More != tc.more || page.LastEventID != tc.lastEvID {
				t.Fatalf("Messages(%d, %d) = %v more %v last %d; want %v more %v last %d",
					tc.before, tc.limit, got, page.More, page.LastEventID, tc.want, tc.more, tc.lastEvID)
			}
		})
	}
	t.Run("walk", func(t *testing.T) {
		t.Parallel()
		var got []int64
		before := int64(0)
		for {
			page, err := st.Messages(ctx, room, before, 2)
			if err != nil {
				t.Fatalf("Messages(%d): %v", before, err)
			}
			got = append(got, messageIDs(page.Messages)...)
			if !page.More {
				break
			}
			before = page.Messages[len(page.Messages)-1].ID
		}
		if !slices.Equal(got, live) {
			t.Fatalf("walking pages of 2 = %v, want %v", got, live)
		}
	})
	if _, err := st.Messages(ctx, room, 0, 0); err == nil {
		t.Fatal("Messages with limit 0: no error")
	}
}

func TestEventsAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	for i := 1; i <= 10; i++ {
		send(t, st, room, "alice", "m"+strconv.Itoa(i), "")
	}
	tests := []struct {
		name  string
		room  string
		after int64
		limit int
		want  []int64
		last  int64
	}{
		{"first page", room, 0, 3, []int64{1, 2, 3}, 10},
		{"middle page", room, 4, 2, []int64{5, 6}, 10},
		{"ends at the head", room, 7, 3, []int64{8, 9, 10}, 10},
		{"room to spare", room, 7, 50, []int64{8, 9, 10}, 10},
		{"one short of the head", room, 6, 3, []int64{7, 8, 9}, 10},
		{"up to date", room, 10, 5, nil, 10},
		{"ahead of the room", room, 50, 5, nil, 10},
		{"negative after", room, -3, 2, []int64{1, 2}, 10},
		{"largest after", room, math.MaxInt64, 5, nil, 10},
		{"limit zero", room, 3, 0, nil, 10},
		{"empty room", unique(t, "room"), 0, 5, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs, last, err := st.EventsAfter(ctx, tc.room, tc.after, tc.limit)
			if err != nil {
				t.Fatalf("EventsAfter(%d, %d): %v", tc.after, tc.limit, err)
			}
			if !slices.Equal(ids(evs), tc.want) || last != tc.last {
				t.Fatalf("EventsAfter(%d, %d) = %v, last %d; want %v, %d", tc.after, tc.limit, ids(evs), last, tc.want, tc.last)
			}
		})
	}
}

// rawItem reads one item of the table as stored.
func rawItem(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := local.client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(testTable),
		Key:            map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: pk}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%s, %s): %v", pk, sk, err)
	}
	if len(out.Item) == 0 {
		t.Fatalf("GetItem(%s, %s): no item", pk, sk)
	}
	return out.Item
}

// expiresAt returns the item's TTL attribute, "" when absent.
func expiresAt(item map[string]types.AttributeValue) string {
	if v, ok := item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

func TestRetentionSetsExpiresAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return at }
	const cid = "44444444-2222-4333-8444-555555555555"
	tests := []struct {
		name      string
		retention time.Duration
		want      string
	}{
		{"kept forever", 0, ""},
		{"one week", 7 * 24 * time.Hour, strconv.FormatInt(at.Add(7*24*time.Hour).Unix(), 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, dynamo.WithClock(clock), dynamo.WithRetention(tc.retention))
			room := unique(t, "room")
			send(t, st, room, "alice", "m", cid)
			if _, err := st.DeleteMessage(ctx, room, 1, "alice"); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
			if _, err := st.ClearRoom(ctx, room, "bob"); err != nil {
				t.Fatalf("ClearRoom: %v", err)
			}
			// The CID key is dropped by the delete: send again to keep one.
			send(t, st, room, "alice", "m2", cid)
			pk := "ROOM#" + room
			for _, sk := range []string{"EV#00000000000000000001", "EV#00000000000000000002", "EV#00000000000000000003",
				"EV#00000000000000000004", "CID#" + cid} {
				if got := expiresAt(rawItem(t, pk, sk)); got != tc.want {
					t.Errorf("%s expiresAt = %q, want %q", sk, got, tc.want)
				}
			}
			if got := expiresAt(rawItem(t, pk, "META")); got != "" {
				t.Errorf("head expiresAt = %q, want none: the head never expires", got)
			}
		})
	}
}

func TestEnsureTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := unique(t, "table")
	for i := range 2 { // the second call finds the table and its TTL in place
		if err := dynamo.EnsureTable(ctx, local.client, name, true); err != nil {
			t.Fatalf("EnsureTable call %d: %v", i+1, err)
		}
	}
	out, err := local.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive || len(tbl.GlobalSecondaryIndexes) != 1 ||
		aws.ToString(tbl.GlobalSecondaryIndexes[0].IndexName) != dynamo.IndexByUser {
		t.Fatalf("table = status %s, indexes %+v; want ACTIVE with %s", tbl.TableStatus, tbl.GlobalSecondaryIndexes, dynamo.IndexByUser)
	}
	ttl, err := local.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled ||
		aws.ToString(ttl.TimeToLiveDescription.AttributeName) != dynamo.AttrExpiresAt {
		t.Fatalf("DescribeTimeToLive = %+v, %v; want enabled on %s", ttl, err, dynamo.AttrExpiresAt)
	}
	// Back to a fresh store on the new table: it works end to end.
	st, err := dynamo.New(local.client, name)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if ev, _, err := st.AppendMessage(ctx, chat.Message{Room: "lobby", User: "a", Text: "hi"}); err != nil || ev.ID != 1 {
		t.Fatalf("AppendMessage on the new table = %+v, %v", ev, err)
	}
}

func TestClearRoomManyItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	tests := []struct {
		name string
		user string
	}{
		{"whole room", ""},
		{"one user", "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			room := unique(t, "room")
			// 40 messages with keys: 80 items, more than three batches.
			for i := range 40 {
				send(t, st, room, "alice", strconv.Itoa(i), fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
			}
			ref, err := st.ClearRoom(ctx, room, tc.user)
			if err != nil || ref.ID != 41 {
				t.Fatalf("ClearRoom = %+v, %v; want refresh 41", ref, err)
			}
			evs, _ := allEvents(t, st, room, 0)
			for _, ev := range evs[:len(evs)-1] {
				if ev.Message != nil {
					t.Fatalf("event %d still holds a message after the clear", ev.ID)
				}
			}
			for i := range 40 {
				again := send(t, st, room, "alice", "again", fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
				if want := int64(42 + i); again.ID != want {
					t.Fatalf("clientId %d after the clear: id %d, want %d (its key should be gone)", i, again.ID, want)
				}
			}
		})
	}
}

// TestAppendMessageStaleClientIDKey covers a key whose message is gone
// without it (TTL removes items one by one, in no set order): the clientId
// is free and the key is replaced.
func TestAppendMessageStaleClientIDKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	room := unique(t, "room")
	const cid = "66666666-2222-4333-8444-555555555555"
	_, err := local.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(testTable),
		Item: map[string]types.AttributeValue{
			dynamo.AttrPK: &types.AttributeValueMemberS{Value: "ROOM#" + room},
			dynamo.AttrSK: &types.AttributeValueMemberS{Value: "CID#" + cid},
			"id":          &types.AttributeValueMemberN{Value: "7"},
		},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	ev := send(t, st, room, "alice", "fresh", cid)
	if ev.ID != 1 {
		t.Fatalf("id %d, want 1", ev.ID)
	}
	if got := rawItem(t, "ROOM#"+room, "CID#"+cid)["id"].(*types.AttributeValueMemberN).Value; got != "1" {
		t.Fatalf("key points to %s, want 1", got)
	}
	again, created, err := st.AppendMessage(ctx, chat.Message{Room: room, User: "alice", Text: "x", ClientID: cid})
	if err != nil || created || again.ID != 1 {
		t.Fatalf("repeat = id %d, created %v, %v; want 1, false", again.ID, created, err)
	}
}
