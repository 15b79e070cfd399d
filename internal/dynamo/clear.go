package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// maxBatch is the most requests one BatchWriteItem takes.
const maxBatch = 25

// maxBatchAttempts bounds the retries of a batch's unprocessed items.
const maxBatchAttempts = 8

// ClearRoom appends a refresh event and then removes what came before it:
// with user == "" every event and idempotency key of the room (a Query of
// the room's keys below the refresh, then BatchWriteItem deletes); with a
// user, that user's messages below the refresh, found through the byUser
// index, become tombstones and lose their idempotency keys.
//
// The refresh goes first so that a message sent concurrently, which takes
// an id above the refresh, is never removed by mistake; the removal is
// bounded by the refresh's id, not by time. If the removal fails, the
// refresh is already stored and an error is returned: calling ClearRoom
// again appends another refresh and finishes the job.
//
// A user's clear leaves tombstones rather than holes so the event log stays
// contiguous, as it does after DeleteMessage. The index is eventually
// consistent: a message stored a moment (typically well under a second)
// before the clear may not be in it yet and then survives.
func (s *Store) ClearRoom(ctx context.Context, room, user string) (chat.Event, error) {
	if !chat.ValidSlug(room) {
		return chat.Event{}, fmt.Errorf("dynamo: clear room: room %q is not a valid slug", room)
	}
	build := func(id int64, at time.Time) (map[string]types.AttributeValue, []types.TransactWriteItem) {
		event := eventItem(room, id, chat.EventRefresh, at, s.expiresAt(at))
		if user != "" {
			event[attrUser] = strAV(user)
		}
		return event, nil
	}
	id, at, err := s.appendEvent(ctx, room, build, func([]types.CancellationReason) error { return nil })
	if err != nil {
		return chat.Event{}, fmt.Errorf("clear room %s: %w", room, err)
	}
	var removed int
	if user == "" {
		removed, err = s.clearAll(ctx, room, id)
	} else {
		removed, err = s.clearUser(ctx, room, user, id)
	}
	if err != nil {
		return chat.Event{}, fmt.Errorf("clear room %s (refresh %d stored): %w", room, id, err)
	}
	s.log.InfoContext(ctx, "dynamo: cleared room", slog.String("room", room), slog.Bool("oneUser", user != ""),
		slog.Int64("refreshId", id), slog.Int("items", removed))
	return chat.Event{ID: id, Room: room, Type: chat.EventRefresh, At: at, User: user}, nil
}

// clearAll deletes every event of room below id and every idempotency key
// of a message below id.
func (s *Store) clearAll(ctx context.Context, room string, below int64) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk < :below"),
		ProjectionExpression:     aws.String("#pk, #sk, #id"),
		ConsistentRead:           aws.Bool(true),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#id": attrID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":    strAV(roomPK(room)),
			":below": strAV(eventSK(below)),
		},
	}
	removed := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return removed, fmt.Errorf("query items below %d: %w", below, err)
		}
		reqs := make([]types.WriteRequest, 0, len(out.Items))
		for _, it := range out.Items {
			id, err := getN(it, attrID)
			if err != nil {
				return removed, err
			}
			if id >= below {
				continue // the key of a message sent after the refresh
			}
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
				Key: map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]},
			}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return removed, err
		}
		removed += len(reqs)
		if len(out.LastEvaluatedKey) == 0 {
			return removed, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// clearUser turns user's messages in room below id into tombstones and
// deletes their idempotency keys.
func (s *Store) clearUser(ctx context.Context, room, user string, below int64) (int, error) {
	if below <= 1 {
		return 0, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(IndexByUser),
		KeyConditionExpression:   aws.String("#gpk = :user AND #gsk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#gpk": AttrGSI1PK, "#gsk": AttrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":user": strAV(userPK(user)),
			":from": strAV(userSK(room, 1)),
			":to":   strAV(userSK(room, below-1)),
		},
	}
	removed := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return removed, fmt.Errorf("query messages of %q: %w", user, err)
		}
		reqs := make([]types.WriteRequest, 0, 2*len(out.Items))
		for _, it := range out.Items {
			id, err := getN(it, attrID)
			if err != nil {
				return removed, err
			}
			atMs, err := getN(it, attrAt)
			if err != nil {
				return removed, err
			}
			expires, err := getN(it, AttrExpiresAt)
			if err != nil {
				return removed, err
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{
				Item: tombstoneItem(room, id, time.UnixMilli(atMs), expires),
			}})
			if cid := getS(it, attrClientID); cid != "" {
				reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
					Key: key(roomPK(room), cidSK(cid)),
				}})
			}
			removed++
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return removed, err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return removed, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// batchWrite writes reqs in batches of 25, retrying unprocessed items with
// a jittered backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		batch := reqs[:min(maxBatch, len(reqs))]
		reqs = reqs[len(batch):]
		for attempt := 1; len(batch) > 0; attempt++ {
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: batch},
			})
			if err != nil {
				return fmt.Errorf("batch write %d items: %w", len(batch), err)
			}
			batch = out.UnprocessedItems[s.table]
			if len(batch) == 0 {
				break
			}
			if attempt >= maxBatchAttempts {
				return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(batch), attempt)
			}
			if err := sleep(ctx, batchBackoff(attempt)); err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
		}
	}
	return nil
}

// Backoff between BatchWriteItem calls that left items unprocessed (the
// table is throttling): full jitter over an exponential window.
const (
	batchBackoffBase = 4 * time.Millisecond
	batchBackoffMax  = 150 * time.Millisecond
)

// batchBackoff is the pause before attempt+1 of a batch write: full jitter
// over [0, min(batchBackoffMax, batchBackoffBase·2^attempt)), plus 1 ms.
func batchBackoff(attempt int) time.Duration {
	window := batchBackoffMax
	if attempt < 16 {
		window = min(batchBackoffMax, batchBackoffBase<<attempt)
	}
	return rand.N(window) + time.Millisecond
}
