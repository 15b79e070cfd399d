package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// countingAPI passes calls to DynamoDB Local and counts them by operation.
type countingAPI struct {
	next  *dynamodb.Client
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingAPI) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

// take returns the counts so far and starts again from zero.
func (c *countingAPI) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.next.GetItem(ctx, in, o...)
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.next.Query(ctx, in, o...)
}

func (c *countingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	return c.next.TransactWriteItems(ctx, in, o...)
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.count("BatchWriteItem")
	return c.next.BatchWriteItem(ctx, in, o...)
}

func (c *countingAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.count("DeleteItem")
	return c.next.DeleteItem(ctx, in, o...)
}

func (c *countingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.count("BatchGetItem")
	return c.next.BatchGetItem(ctx, in, o...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.next.UpdateItem(ctx, in, o...)
}

// TestCallCounts pins the DynamoDB calls each method makes without
// contention, on one warm store (a warm function): the cost model that
// docs/cost.md prices. An uncontended send is one TransactWriteItems.
func TestCallCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := &countingAPI{next: local.client, calls: map[string]int{}}
	st, err := dynamo.New(api, testTable, dynamo.WithLogger(quiet))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// other is another function's store on the same table.
	other := newStore(t)
	room, otherRoom, user := unique(t, "room"), unique(t, "room"), unique(t, "user")
	const cid = "55555555-2222-4333-8444-555555555555"
	msg := func(text, clientID string) chat.Message {
		return chat.Message{Room: room, User: user, Text: text, ClientID: clientID}
	}
	type counts = map[string]int
	// The steps run in order on one room; each checks the calls of its own.
	steps := []struct {
		name string
		do   func() error
		want counts
	}{
		// The first write to a room reads its head; later ones start from
		// the head the store remembers.
		{"append", func() error { _, _, err := st.AppendMessage(ctx, msg("1", cid)); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		// The key's condition fails and returns the message's id: one read
		// of that message.
		{"append repeated clientId", func() error { _, _, err := st.AppendMessage(ctx, msg("again", cid)); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		{"append more", func() error {
			for _, text := range []string{"2", "3", "4"} {
				if _, _, err := st.AppendMessage(ctx, msg(text, "")); err != nil {
					return err
				}
			}
			_, _, err := st.AppendMessage(ctx, chat.Message{Room: otherRoom, User: user, Text: "x"})
			return err
		}, counts{"GetItem": 1, "TransactWriteItems": 4}},
		{"delete", func() error { _, err := st.DeleteMessage(ctx, room, 2, user); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		{"delete refused", func() error {
			_, err := st.DeleteMessage(ctx, room, 3, "someone else")
			return ignore(err, chat.ErrForbidden)
		},
			counts{"GetItem": 1}},
		{"newest page", func() error { _, err := st.Messages(ctx, room, 0, 20); return err },
			counts{"Query": 1}},
		{"older page", func() error { _, err := st.Messages(ctx, room, 5, 1); return err },
			counts{"Query": 1}},
		// Limit counts the tombstone of 2: a second Query finds message 1.
		{"older page across a tombstone", func() error { _, err := st.Messages(ctx, room, 4, 1); return err },
			counts{"Query": 2}},
		{"events up to the head", func() error { _, _, err := st.EventsAfter(ctx, room, 0, 50); return err },
			counts{"Query": 1}},
		{"events, more waiting", func() error { _, _, err := st.EventsAfter(ctx, room, 0, 2); return err },
			counts{"Query": 1, "GetItem": 1}},
		{"last event id", func() error { _, err := st.LastEventID(ctx, room); return err },
			counts{"GetItem": 1}},
		{"user rooms", func() error { _, err := st.UserRooms(ctx, user); return err },
			counts{"Query": 3}},
		{"delete a message with a clientId", func() error { _, err := st.DeleteMessage(ctx, room, 1, user); return err },
			counts{"GetItem": 1, "TransactWriteItems": 1}},
		// The delete dropped the key in its transaction: no stale key to
		// find and clear first.
		{"append with the deleted message's clientId", func() error {
			_, created, err := st.AppendMessage(ctx, msg("reborn", cid))
			if err == nil && !created {
				return errUnexpectedSuccess
			}
			return err
		}, counts{"TransactWriteItems": 1}},
		// Another function (another store) wrote meanwhile: the remembered
		// head is stale, its condition fails and returns the head, and the
		// retry goes at once, with no read and no gap.
		{"append after another function wrote", func() error {
			ev, _, err := other.AppendMessage(ctx, msg("from elsewhere", ""))
			if err != nil {
				return err
			}
			api.take()
			next, _, err := st.AppendMessage(ctx, msg("here", ""))
			if err == nil && next.ID != ev.ID+1 {
				return fmt.Errorf("id %d after %d: %w", next.ID, ev.ID, errUnexpectedSuccess)
			}
			return err
		}, counts{"TransactWriteItems": 2}},
		// The Query of the index finds the user's messages; a Query of the
		// room finds the messages the user reacted to (none here).
		{"clear one user", func() error { _, err := st.ClearRoom(ctx, room, user); return err },
			counts{"TransactWriteItems": 1, "Query": 2, "BatchWriteItem": 1}},
		// Someone else's two messages, which the user reacted to (one with
		// two emoji): one UpdateItem each takes the user out of their sets.
		// The user has no messages left to tombstone: no BatchWriteItem.
		{"clear one user who reacted", func() error {
			emoji := [][]string{{"👍", "🎉"}, {"👍"}}
			for i, text := range []string{"5", "6"} {
				ev, _, err := st.AppendMessage(ctx, chat.Message{Room: room, User: "someone else", Text: text})
				if err != nil {
					return err
				}
				for _, e := range emoji[i] {
					if _, _, err := st.React(ctx, chat.Reaction{Room: room, MessageID: ev.ID, User: user, Emoji: e, On: true}); err != nil {
						return err
					}
				}
			}
			api.take()
			_, err := st.ClearRoom(ctx, room, user)
			return err
		}, counts{"TransactWriteItems": 1, "Query": 2, "UpdateItem": 2}},
		{"clear room", func() error { _, err := st.ClearRoom(ctx, room, ""); return err },
			counts{"TransactWriteItems": 1, "Query": 1, "BatchWriteItem": 1}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := api.take(); !maps.Equal(got, step.want) {
			t.Errorf("%s: calls %v, want %v", step.name, got, step.want)
		}
	}
}

// ignore returns nil if err is want, else err (or an error saying want
// did not happen).
func ignore(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	if err == nil {
		return errUnexpectedSuccess
	}
	return err
}

var errUnexpectedSuccess = errors.New("unexpected outcome")
