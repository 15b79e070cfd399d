package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
// index, become tombstones and lose their idempotency keys, and the user
// is taken out of the reaction sets of the room's messages below the
// refresh (see clearReactions).
//
// The refresh goes first so that a message sent concurrently, which takes
// an id above the refresh, is never removed by mistake; the removal is
// bounded by the refresh's id, not by time, and so is the reactions'
// (a reaction made after the refresh, even to an older message, stays).
// If the removal fails, the refresh is already stored and an error is
// returned: calling ClearRoom again appends another refresh and finishes
// the job.
//
// A user's clear leaves tombstones rather than holes so the event log stays
// contiguous, as it does after DeleteMessage; the user's reaction events
// stay in the log too (a name and an emoji, replayed only to a resume from
// before the refresh, which ends with the refresh). The index is eventually
// consistent: a message stored a moment (typically well under a second)
// before the clear may not be in it yet and then survives.
//
// Calls: one TransactWriteItems (the refresh; and a GetItem of the head
// when the store does not know it). The whole room: one Query per 1 MB of
// the room's items and one BatchWriteItem per 25 of them. One user: one
// Query of the index per 1 MB of the user's messages in the room and one
// BatchWriteItem per 25 writes (a tombstone, and a key for a message sent
// with a clientId); then one consistent Query per 1 MB of the room's
// events below the refresh (a filter returns only the messages the user
// reacted to) and one UpdateItem per such message, plus a Query and an
// UpdateItem more for each message that gets a reaction while the clear
// runs.
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
	var removed, unreacted int
	if user == "" {
		removed, err = s.clearAll(ctx, room, id)
	} else if removed, err = s.clearUser(ctx, room, user, id); err == nil {
		unreacted, err = s.clearReactions(ctx, room, user, id)
	}
	if err != nil {
		return chat.Event{}, fmt.Errorf("clear room %s (refresh %d stored): %w", room, id, err)
	}
	s.log.InfoContext(ctx, "dynamo: cleared room", slog.String("room", room), slog.Bool("oneUser", user != ""),
		slog.Int64("refreshId", id), slog.Int("items", removed), slog.Int("unreacted", unreacted))
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

// maxUnreactAttempts bounds the UpdateItems that take a user out of one
// message's reaction sets while other reactions to it keep changing them.
const maxUnreactAttempts = 8

// clearReactions takes user out of every rx:<emoji> set of room's messages
// below id and returns how many messages it changed. One consistent Query
// reads the messages below the refresh whose sets hold the user (a filter,
// so only those come back), then one conditional UpdateItem per message
// removes the user from those sets (see unreact). The sets' state at the
// refresh is what is cleared: every reaction event below the refresh was
// committed before it (ids follow the head), so the consistent read sees
// them all.
func (s *Store) clearReactions(ctx context.Context, room, user string, below int64) (int, error) {
	if below <= 1 {
		return 0, nil
	}
	emoji := chat.ReactionEmoji()
	names := map[string]string{
		"#pk": AttrPK, "#sk": AttrSK, "#type": attrType, "#tomb": attrTomb, "#id": attrID, "#rxid": attrReactionID,
	}
	contains := make([]string, len(emoji))
	projection := "#id, #rxid"
	for i, e := range emoji {
		n := fmt.Sprintf("#r%d", i)
		names[n] = reactionAttr(e)
		contains[i] = fmt.Sprintf("contains(%s, :user)", n)
		projection += ", " + n
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		FilterExpression: aws.String("#type = :message AND attribute_not_exists(#tomb) AND (" +
			strings.Join(contains, " OR ") + ")"),
		ProjectionExpression:     aws.String(projection),
		ConsistentRead:           aws.Bool(true),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":      strAV(roomPK(room)),
			":from":    strAV(eventSK(1)),
			":to":      strAV(eventSK(below - 1)),
			":message": strAV(string(chat.EventMessage)),
			":user":    strAV(user),
		},
	}
	changed := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return changed, fmt.Errorf("query reactions of %q below %d: %w", user, below, err)
		}
		for _, it := range out.Items {
			id, err := getN(it, attrID)
			if err != nil {
				return changed, err
			}
			did, err := s.unreact(ctx, room, user, id, below, it)
			if err != nil {
				return changed, err
			}
			if did {
				changed++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return changed, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// unreact takes user out of the reaction sets of message id of room that
// held the user at the refresh below, given item, the message as last read
// (its sets and rxId). The UpdateItem is conditional on rxId being what was
// read, so the sets it changes are the sets it saw. When a reaction to the
// message came in meanwhile (rxId moved, necessarily above the refresh),
// the failed condition returns the message as it is now, and the emoji the
// user reacted with after the refresh are left alone: those reactions are
// newer than the clear. It reports whether it changed the message.
func (s *Store) unreact(ctx context.Context, room, user string, id, below int64, item map[string]types.AttributeValue) (bool, error) {
	var after map[string]bool // emoji user changed above the refresh
	for attempt := 1; ; attempt++ {
		seen, err := getN(item, attrReactionID)
		if err != nil {
			return false, fmt.Errorf("unreact %s/%d: %w", room, id, err)
		}
		if seen >= below && after == nil {
			if after, err = s.reactedAfter(ctx, room, user, id, below); err != nil {
				return false, err
			}
		}
		names := map[string]string{"#type": attrType, "#tomb": attrTomb, "#rxid": attrReactionID}
		var actions []string
		for i, e := range chat.ReactionEmoji() {
			set, _ := item[reactionAttr(e)].(*types.AttributeValueMemberSS)
			if set == nil || !slices.Contains(set.Value, user) || after[e] {
				continue
			}
			n := fmt.Sprintf("#r%d", i)
			names[n] = reactionAttr(e)
			actions = append(actions, n+" :users")
		}
		if len(actions) == 0 {
			return false, nil
		}
		values := map[string]types.AttributeValue{
			":users":   &types.AttributeValueMemberSS{Value: []string{user}},
			":message": strAV(string(chat.EventMessage)),
		}
		cond := "#type = :message AND attribute_not_exists(#tomb) AND "
		if seen == 0 {
			cond += "attribute_not_exists(#rxid)"
		} else {
			cond += "#rxid = :seen"
			values[":seen"] = numAV(seen)
		}
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.table),
			Key:                                 key(roomPK(room), eventSK(id)),
			UpdateExpression:                    aws.String("DELETE " + strings.Join(actions, ", ")),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var cfe *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return true, nil
		case !errors.As(err, &cfe):
			return false, fmt.Errorf("unreact %s/%d: %w", room, id, err)
		case attempt >= maxUnreactAttempts:
			return false, fmt.Errorf("unreact %s/%d: its reactions kept changing for %d attempts", room, id, attempt)
		}
		if item = cfe.Item; len(item) == 0 {
			// A server that does not return the old item: read it.
			if item, _, err = s.getEvent(ctx, room, id); err != nil {
				return false, fmt.Errorf("unreact %s/%d: %w", room, id, err)
			}
		}
		if getS(item, attrType) != string(chat.EventMessage) || getBool(item, attrTomb) {
			return false, nil // deleted meanwhile: no sets left
		}
		after = nil // the new change may be user's own
	}
}

// reactedAfter returns the emoji of user's reaction events to message id
// of room above the refresh below: one Query of the events after the
// refresh (few: the clear has just appended it), filtered.
func (s *Store) reactedAfter(ctx context.Context, room, user string, id, below int64) (map[string]bool, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		FilterExpression:       aws.String("#type = :reaction AND #target = :id AND #user = :user"),
		ProjectionExpression:   aws.String("#emoji"),
		ConsistentRead:         aws.Bool(true),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#sk": AttrSK, "#type": attrType, "#target": attrTarget, "#user": attrUser, "#emoji": attrEmoji,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":       strAV(roomPK(room)),
			":from":     strAV(eventSK(below + 1)),
			":to":       strAV(eventSK(math.MaxInt64)),
			":reaction": strAV(string(chat.EventReaction)),
			":id":       numAV(id),
			":user":     strAV(user),
		},
	}
	emoji := map[string]bool{}
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query reactions of %q to %s/%d after %d: %w", user, room, id, below, err)
		}
		for _, it := range out.Items {
			emoji[getS(it, attrEmoji)] = true
		}
		if len(out.LastEvaluatedKey) == 0 {
			return emoji, nil
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
