package dynamo

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

func TestSortKeysOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys []string // must be in strictly increasing order
	}{
		{"room partition: keys, events by id, head", []string{
			cidSK("ffffffff-ffff-4fff-bfff-ffffffffffff"), prefixEvent,
			eventSK(1), eventSK(2), eventSK(9), eventSK(10), eventSK(100), eventSK(math.MaxInt64), skHead,
		}},
		{"user index: rooms apart, the walk's cursor between them", []string{
			userSK("ab", 1), userSK("ab", 10), userSK("ab", math.MaxInt64), userSKPrefix("ab") + "~",
			userSK("ab-c", 1), userSKPrefix("ab-c") + "~", userSK("ab0", 1), userSK("b", 1),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !slices.IsSorted(tc.keys) || len(slices.Compact(slices.Clone(tc.keys))) != len(tc.keys) {
				t.Fatalf("keys are not strictly increasing: %q", tc.keys)
			}
		})
	}
}

func TestRoomOfUserSK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sk   string
		room string
		id   int64
		ok   bool
	}{
		{"plain", userSK("lobby", 42), "lobby", 42, true},
		{"dashes and digits", userSK("devops-bcn-2", 1), "devops-bcn-2", 1, true},
		{"no room prefix", "USER#x", "", 0, false},
		{"no event part", "ROOM#lobby", "", 0, false},
		{"bad id", "ROOM#lobby#EV#12x", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			room, id, err := roomOfUserSK(tc.sk)
			if (err == nil) != tc.ok || room != tc.room || id != tc.id {
				t.Fatalf("roomOfUserSK(%q) = %q, %d, %v; want %q, %d, ok %v", tc.sk, room, id, err, tc.room, tc.id, tc.ok)
			}
			if err != nil && !errors.Is(err, errBadItem) {
				t.Fatalf("error %v does not wrap errBadItem", err)
			}
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	m := chat.Message{ID: 7, Room: "lobby", User: "alice", Text: "*hi*", HTML: "<em>hi</em>", SentAt: at, ClientID: "c"}
	del := eventItem("lobby", 8, chat.EventDelete, at, 0)
	del[attrDeletedID] = numAV(7)
	ref := eventItem("lobby", 9, chat.EventRefresh, at, 0)
	ref[attrUser] = strAV("bob")
	badType := eventItem("lobby", 10, "poll", at, 0)
	edit := eventItem("lobby", 12, chat.EventEdit, at, 0)
	edit[attrTarget] = numAV(7)
	later := at.Add(time.Minute)
	changed := m
	changed.EditedAt = &later
	changed.Reactions = map[string][]string{"👍": {"ana", "bob"}}
	changedItem := messageItem(m, 0)
	changedItem[attrEditedAt] = numAV(later.UnixMilli())
	changedItem[reactionAttr("👍")] = &types.AttributeValueMemberSS{Value: []string{"bob", "ana"}}
	badID := eventItem("lobby", 11, chat.EventDelete, at, 0)
	badID[attrDeletedID] = strAV("seven")
	tests := []struct {
		name string
		item map[string]types.AttributeValue
		want chat.Event
		ok   bool
	}{
		{"message", messageItem(m, 0), chat.Event{ID: 7, Room: "lobby", Type: chat.EventMessage, At: at, Message: &m}, true},
		{"tombstone", tombstoneItem("lobby", 7, at, 99), chat.Event{ID: 7, Room: "lobby", Type: chat.EventMessage, At: at}, true},
		{"delete", del, chat.Event{ID: 8, Room: "lobby", Type: chat.EventDelete, At: at, DeletedID: 7}, true},
		{"refresh", ref, chat.Event{ID: 9, Room: "lobby", Type: chat.EventRefresh, At: at, User: "bob"}, true},
		{"edited, with reactions", changedItem, chat.Event{ID: 7, Room: "lobby", Type: chat.EventMessage, At: at, Message: &changed}, true},
		{"edit", edit, chat.Event{ID: 12, Room: "lobby", Type: chat.EventEdit, At: at, EditedID: 7}, true},
		{"unknown type", badType, chat.Event{}, false},
		{"number stored as string", badID, chat.Event{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeEvent("lobby", tc.item)
			if (err == nil) != tc.ok {
				t.Fatalf("decodeEvent error = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			gotMsg, wantMsg := got.Message, tc.want.Message
			got.Message, tc.want.Message = nil, nil
			if got != tc.want || (gotMsg == nil) != (wantMsg == nil) || (gotMsg != nil && !reflect.DeepEqual(*gotMsg, *wantMsg)) {
				t.Fatalf("decodeEvent = %+v (message %+v), want %+v (message %+v)", got, gotMsg, tc.want, wantMsg)
			}
		})
	}
}

func TestMessageItemIndexesLiveMessagesOnly(t *testing.T) {
	t.Parallel()
	m := chat.Message{ID: 3, Room: "lobby", User: "alice", Text: "t", SentAt: time.Unix(0, 0)}
	item := messageItem(m, 0)
	if getS(item, AttrGSI1PK) != "USER#alice" || getS(item, AttrGSI1SK) != "ROOM#lobby#EV#00000000000000000003" {
		t.Fatalf("message index keys = %q, %q", getS(item, AttrGSI1PK), getS(item, AttrGSI1SK))
	}
	if _, ok := item[AttrExpiresAt]; ok {
		t.Fatal("expiresAt set without retention")
	}
	tomb := tombstoneItem("lobby", 3, time.Unix(0, 0), 0)
	for _, a := range []string{AttrGSI1PK, AttrGSI1SK, attrUser, attrText, attrHTML, attrClientID} {
		if _, ok := tomb[a]; ok {
			t.Fatalf("tombstone keeps %s", a)
		}
	}
}

func TestTableInput(t *testing.T) {
	t.Parallel()
	in := TableInput("chat")
	if aws.ToString(in.TableName) != "chat" || in.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("table %q billing %s", aws.ToString(in.TableName), in.BillingMode)
	}
	keys := func(ks []types.KeySchemaElement) []string {
		var out []string
		for _, k := range ks {
			out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return out
	}
	if got := keys(in.KeySchema); !slices.Equal(got, []string{"pk:HASH", "sk:RANGE"}) {
		t.Fatalf("key schema %v", got)
	}
	for _, d := range in.AttributeDefinitions {
		if d.AttributeType != types.ScalarAttributeTypeS {
			t.Fatalf("attribute %s is %s, want S", aws.ToString(d.AttributeName), d.AttributeType)
		}
	}
	if len(in.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("%d indexes, want 1", len(in.GlobalSecondaryIndexes))
	}
	gsi := in.GlobalSecondaryIndexes[0]
	if aws.ToString(gsi.IndexName) != IndexByUser || !slices.Equal(keys(gsi.KeySchema), []string{"gsi1pk:HASH", "gsi1sk:RANGE"}) {
		t.Fatalf("index %s keys %v", aws.ToString(gsi.IndexName), keys(gsi.KeySchema))
	}
	// clearUser rebuilds tombstones and drops idempotency keys from what
	// the index projects.
	for _, a := range []string{attrID, attrAt, attrClientID, AttrExpiresAt} {
		if !slices.Contains(gsi.Projection.NonKeyAttributes, a) {
			t.Fatalf("index projection %v lacks %s", gsi.Projection.NonKeyAttributes, a)
		}
	}
}
