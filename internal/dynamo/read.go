package dynamo

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// Messages returns up to limit live messages of room with id < before
// (before <= 0: the newest, with the room's last event id), newest first.
// It is a descending, strongly consistent Query (the newest page starts at
// the head); a filter drops tombstones and non-message events, and because
// DynamoDB applies Limit before the filter the Query is repeated (asking
// for twice what is missing) until limit+1 live messages (the +1 decides
// More) or the start of the room.
func (s *Store) Messages(ctx context.Context, room string, before int64, limit int) (chat.MessagePage, error) {
	if !chat.ValidSlug(room) {
		return chat.MessagePage{}, fmt.Errorf("dynamo: messages: room %q is not a valid slug", room)
	}
	if limit < 1 {
		return chat.MessagePage{}, fmt.Errorf("dynamo: messages of %s: limit %d is less than 1", room, limit)
	}
	newest := before <= 0
	to := strAV(skHead)
	if !newest {
		if before == 1 {
			return chat.MessagePage{}, nil
		}
		to = strAV(eventSK(before - 1))
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		// The head passes the filter (it alone has lastId), so the newest
		// page learns the last event id from the same Query.
		FilterExpression: aws.String("attribute_exists(#last) OR (#type = :message AND attribute_not_exists(#tomb))"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#sk": AttrSK, "#last": attrLastID, "#type": attrType, "#tomb": attrTomb,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":      strAV(roomPK(room)),
			":from":    strAV(prefixEvent),
			":to":      to,
			":message": strAV(string(chat.EventMessage)),
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
	}
	var page chat.MessagePage
	headPending := newest
	for pages := 0; ; pages++ {
		want := limit + 1 - len(page.Messages)
		if headPending {
			want++
		}
		if pages > 0 {
			// Tombstones or other events made the last page short; more
			// are likely close by, so ask for more than strictly missing.
			want = min(2*want, 1000)
		}
		in.Limit = aws.Int32(int32(want))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return chat.MessagePage{}, fmt.Errorf("query messages of %s before %d: %w", room, before, err)
		}
		for _, it := range out.Items {
			headPending = false
			if getS(it, AttrSK) == skHead {
				if page.LastEventID, err = getN(it, attrLastID); err != nil {
					return chat.MessagePage{}, fmt.Errorf("messages of %s: %w", room, err)
				}
				continue
			}
			ev, err := decodeEvent(room, it)
			if err != nil {
				return chat.MessagePage{}, fmt.Errorf("messages of %s: %w", room, err)
			}
			if ev.Message != nil && len(page.Messages) <= limit {
				page.Messages = append(page.Messages, *ev.Message)
			}
		}
		if len(page.Messages) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(page.Messages) > limit {
		page.Messages, page.More = page.Messages[:limit], true
	}
	return page, nil
}

// EventsAfter returns up to limit events of room with id > after, in id
// order, and the room's last event id. One ascending, strongly consistent
// Query from EV#<after+1> to META with Limit limit+1 returns the events and
// then the head; only when more than limit events are waiting is the head
// not reached, and one GetItem reads it. Tombstones come back as
// EventMessage events with a nil Message. Edit events come with their
// message as it is now (joinEdits: one BatchGetItem when there are any),
// nil when it was deleted since.
func (s *Store) EventsAfter(ctx context.Context, room string, after int64, limit int) ([]chat.Event, int64, error) {
	if !chat.ValidSlug(room) {
		return nil, 0, fmt.Errorf("dynamo: events after: room %q is not a valid slug", room)
	}
	if limit < 0 {
		return nil, 0, fmt.Errorf("dynamo: events of %s after %d: limit %d is negative", room, after, limit)
	}
	after = max(after, 0)
	// No event can follow the largest id (and after+1 would wrap around).
	if limit == 0 || after == math.MaxInt64 {
		last, err := s.lastID(ctx, room)
		if err != nil {
			return nil, 0, fmt.Errorf("events of %s after %d: %w", room, after, err)
		}
		return nil, last, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   strAV(roomPK(room)),
			":from": strAV(eventSK(after + 1)),
			":to":   strAV(skHead),
		},
		ConsistentRead: aws.Bool(true),
	}
	var (
		evs      []chat.Event
		last     int64
		headSeen bool
	)
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(evs)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, 0, fmt.Errorf("query events of %s after %d: %w", room, after, err)
		}
		for _, it := range out.Items {
			if getS(it, AttrSK) == skHead {
				if last, err = getN(it, attrLastID); err != nil {
					return nil, 0, fmt.Errorf("events of %s: %w", room, err)
				}
				headSeen = true
				continue
			}
			ev, err := decodeEvent(room, it)
			if err != nil {
				return nil, 0, fmt.Errorf("events of %s: %w", room, err)
			}
			evs = append(evs, ev)
		}
		// A page can also end at 1 MB of data before Limit: go on until
		// the head or limit+1 events.
		if headSeen || len(evs) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(evs) > limit {
		evs = evs[:limit]
	}
	if !headSeen && len(evs) > 0 {
		// More events wait than the page holds, so the Query stopped
		// before the head.
		var err error
		if last, err = s.lastID(ctx, room); err != nil {
			return nil, 0, fmt.Errorf("events of %s after %d: %w", room, after, err)
		}
	}
	if err := s.joinEdits(ctx, room, evs); err != nil {
		return nil, 0, fmt.Errorf("events of %s after %d: %w", room, after, err)
	}
	return evs, last, nil
}

// maxBatchGet is the most keys one BatchGetItem takes.
const maxBatchGet = 100

// joinEdits gives every edit event among evs the edited message as it is
// now, read after the Query with one strongly consistent BatchGetItem per
// 100 edited messages (none when evs hold no edit). An edit event keeps no
// text of its own: the message item holds the latest, so a deleted or
// cleared message takes its edits' text with it, and the read after the
// Query sees at least the edit the Query saw (a Query is not isolated from
// a transaction that commits while it runs; this later read is).
func (s *Store) joinEdits(ctx context.Context, room string, evs []chat.Event) error {
	var ids []int64
	for _, ev := range evs {
		if ev.Type == chat.EventEdit && !slices.Contains(ids, ev.EditedID) {
			ids = append(ids, ev.EditedID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	msgs := make(map[int64]*chat.Message, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(maxBatchGet, len(ids))]
		ids = ids[len(chunk):]
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = key(roomPK(room), eventSK(id))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 1; len(req) > 0; attempt++ {
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read %d edited messages: %w", len(chunk), err)
			}
			for _, it := range out.Responses[s.table] {
				ev, err := decodeEvent(room, it)
				if err != nil {
					return err
				}
				if ev.Type == chat.EventMessage && ev.Message != nil {
					msgs[ev.ID] = ev.Message
				}
			}
			req = out.UnprocessedKeys
			if len(req) == 0 {
				break
			}
			if attempt >= maxBatchAttempts {
				return fmt.Errorf("read edited messages: keys still unprocessed after %d attempts", attempt)
			}
			if err := sleep(ctx, batchBackoff(attempt)); err != nil {
				return fmt.Errorf("read edited messages: %w", err)
			}
		}
	}
	for i := range evs {
		if evs[i].Type == chat.EventEdit {
			if m := msgs[evs[i].EditedID]; m != nil {
				c := *m
				evs[i].Message = &c
			}
		}
	}
	return nil
}

// UserRooms returns the slugs of the rooms where user has live messages, in
// slug order. It walks the byUser index one room at a time: each Query
// (Limit 1, keys only) returns the user's first message in the next room
// and the following Query starts past that room's keys, so the calls are
// the number of rooms + 1, however many messages the user wrote.
func (s *Store) UserRooms(ctx context.Context, user string) ([]string, error) {
	// '~' sorts after every digit, so "ROOM#<slug>#EV#~" is past the last
	// message key of that room and before the keys of the next room (slugs
	// are [a-z0-9-], all above '#').
	cursor := prefixRoom
	var rooms []string
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			IndexName:                aws.String(IndexByUser),
			KeyConditionExpression:   aws.String("#gpk = :user AND #gsk > :cursor"),
			ProjectionExpression:     aws.String("#gsk"),
			ExpressionAttributeNames: map[string]string{"#gpk": AttrGSI1PK, "#gsk": AttrGSI1SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":user":   strAV(userPK(user)),
				":cursor": strAV(cursor),
			},
			Limit: aws.Int32(1),
		})
		if err != nil {
			return nil, fmt.Errorf("query rooms of %q: %w", user, err)
		}
		if len(out.Items) == 0 {
			return rooms, nil
		}
		room, _, err := roomOfUserSK(getS(out.Items[0], AttrGSI1SK))
		if err != nil {
			return nil, fmt.Errorf("rooms of %q: %w", user, err)
		}
		rooms = append(rooms, room)
		cursor = userSKPrefix(room) + "~"
	}
}

// LastEventID returns the room's last event id (0 for a room with no
// events) with one strongly consistent GetItem of the head.
func (s *Store) LastEventID(ctx context.Context, room string) (int64, error) {
	if !chat.ValidSlug(room) {
		return 0, fmt.Errorf("dynamo: last event id: room %q is not a valid slug", room)
	}
	return s.lastID(ctx, room)
}

// getEvent reads event id of room with a strongly consistent read; found is
// false when there is no such item.
func (s *Store) getEvent(ctx context.Context, room string, id int64) (item map[string]types.AttributeValue, found bool, err error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(roomPK(room), eventSK(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("read event %s/%d: %w", room, id, err)
	}
	return out.Item, len(out.Item) > 0, nil
}
