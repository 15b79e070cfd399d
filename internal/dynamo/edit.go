package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// liveMessage reads message id of room (strongly consistent) and returns
// its item and the message, or ErrMessageNotFound (no such message event)
// or ErrMessageDeleted (a tombstone).
func (s *Store) liveMessage(ctx context.Context, room string, id int64) (map[string]types.AttributeValue, *chat.Message, error) {
	item, found, err := s.getEvent(ctx, room, id)
	if err != nil {
		return nil, nil, err
	}
	if !found || getS(item, attrType) != string(chat.EventMessage) {
		return nil, nil, chat.ErrMessageNotFound
	}
	if getBool(item, attrTomb) {
		return nil, nil, chat.ErrMessageDeleted
	}
	ev, err := decodeEvent(room, item)
	if err != nil {
		return nil, nil, err
	}
	return item, ev.Message, nil
}

// errEditRepeated ends an edit transaction whose clientId key exists: id is
// the event the key points to (0 if the cancellation did not say).
type errEditRepeated struct{ id int64 }

func (e *errEditRepeated) Error() string {
	return fmt.Sprintf("dynamo: clientId already used by event %d", e.id)
}

// EditMessage replaces the text and HTML of message e.ID if e.User wrote
// it, stamps editedAt and appends an edit event, in one transaction that
// also moves the head, checks again that the message is the author's and
// not deleted, and (with a clientId) puts the edit's idempotency key
// CID#<clientId> → the edit event's id. The edit event holds no text: the
// message item holds the latest, and EventsAfter joins it.
//
// Calls: one GetItem of the message, then per attempt one
// TransactWriteItems (and a GetItem of the head when the store does not
// know it). A repeated clientId costs two more GetItems (the event the key
// names, and the message again).
func (s *Store) EditMessage(ctx context.Context, e chat.Edit) (chat.Event, bool, error) {
	if !chat.ValidSlug(e.Room) {
		return chat.Event{}, false, fmt.Errorf("dynamo: edit message: room %q is not a valid slug", e.Room)
	}
	if e.ID <= 0 {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, chat.ErrMessageNotFound)
	}
	_, msg, err := s.liveMessage(ctx, e.Room, e.ID)
	if err != nil {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
	}
	if msg.User != e.User {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d by %q: %w", e.Room, e.ID, e.User, chat.ErrNotAuthor)
	}

	errGone := errors.New("dynamo: message removed meanwhile")
	build := func(evID int64, at time.Time) (map[string]types.AttributeValue, []types.TransactWriteItem) {
		expires := s.expiresAt(at)
		event := eventItem(e.Room, evID, chat.EventEdit, at, expires)
		event[attrTarget] = numAV(e.ID)
		event[attrUser] = strAV(e.User)
		if e.ClientID != "" {
			event[attrClientID] = strAV(e.ClientID)
		}
		extra := []types.TransactWriteItem{{Update: &types.Update{
			TableName:        aws.String(s.table),
			Key:              key(roomPK(e.Room), eventSK(e.ID)),
			UpdateExpression: aws.String("SET #text = :text, #html = :html, #edited = :at"),
			// Deleted or cleared since the read: the author is checked
			// again, and the tombstone refused.
			ConditionExpression: aws.String("#type = :message AND attribute_not_exists(#tomb) AND #user = :user"),
			ExpressionAttributeNames: map[string]string{
				"#text": attrText, "#html": attrHTML, "#edited": attrEditedAt,
				"#type": attrType, "#tomb": attrTomb, "#user": attrUser,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":text": strAV(e.Text), ":html": strAV(e.HTML), ":at": numAV(at.UnixMilli()),
				":message": strAV(string(chat.EventMessage)), ":user": strAV(e.User),
			},
		}}}
		if e.ClientID != "" {
			cid := key(roomPK(e.Room), cidSK(e.ClientID))
			cid[attrID] = numAV(evID)
			if expires != 0 {
				cid[AttrExpiresAt] = numAV(expires)
			}
			extra = append(extra, types.TransactWriteItem{Put: &types.Put{
				TableName:                           aws.String(s.table),
				Item:                                cid,
				ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}})
		}
		return event, extra
	}
	check := func(extra []types.CancellationReason) error {
		if len(extra) > 1 && failed(extra[1]) {
			id, _ := getN(extra[1].Item, attrID)
			return &errEditRepeated{id: id}
		}
		if failed(extra[0]) {
			return errGone
		}
		return nil
	}
	evID, at, err := s.appendEvent(ctx, e.Room, build, check)
	var repeated *errEditRepeated
	switch {
	case errors.As(err, &repeated):
		return s.repeatedEdit(ctx, e, repeated.id)
	case errors.Is(err, errGone):
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, chat.ErrMessageDeleted)
	case err != nil:
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
	}
	edited := *msg
	edited.Text, edited.HTML = e.Text, e.HTML
	edited.EditedAt = &at
	return chat.Event{ID: evID, Room: e.Room, Type: chat.EventEdit, At: at, EditedID: e.ID, Message: &edited}, true, nil
}

// repeatedEdit answers an edit whose clientId key exists: if it names an
// edit of the same message by the same author, the message as it is now
// (created == false); otherwise the clientId belongs to another write.
func (s *Store) repeatedEdit(ctx context.Context, e chat.Edit, id int64) (chat.Event, bool, error) {
	if id == 0 {
		// A server that does not return the old item: read the key.
		item, found, err := s.getItem(ctx, key(roomPK(e.Room), cidSK(e.ClientID)))
		if err != nil {
			return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
		}
		if !found {
			return chat.Event{}, false, fmt.Errorf("edit message %s/%d: clientId key vanished: %w", e.Room, e.ID, chat.ErrConflict)
		}
		if id, err = getN(item, attrID); err != nil {
			return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
		}
	}
	item, found, err := s.getEvent(ctx, e.Room, id)
	if err != nil {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
	}
	target, _ := getN(item, attrTarget)
	if !found || getS(item, attrType) != string(chat.EventEdit) || target != e.ID || getS(item, attrUser) != e.User {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: clientId names event %d: %w", e.Room, e.ID, id, chat.ErrClientIDTaken)
	}
	_, msg, err := s.liveMessage(ctx, e.Room, e.ID)
	if err != nil {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
	}
	first, err := decodeEvent(e.Room, item)
	if err != nil {
		return chat.Event{}, false, fmt.Errorf("edit message %s/%d: %w", e.Room, e.ID, err)
	}
	first.Message = msg
	return first, false, nil
}

// getItem reads one item by key, strongly consistent; found is false when
// there is none.
func (s *Store) getItem(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            k,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("read %s/%s: %w", getS(k, AttrPK), getS(k, AttrSK), err)
	}
	return out.Item, len(out.Item) > 0, nil
}
