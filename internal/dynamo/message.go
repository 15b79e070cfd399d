package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// duplicateError ends an append whose clientId is already taken: id is the
// message the idempotency key points to (0 if the cancellation did not say).
type duplicateError struct{ id int64 }

func (e *duplicateError) Error() string {
	return fmt.Sprintf("dynamo: clientId already used by message %d", e.id)
}

// maxStaleKeys bounds how many stale idempotency keys one append clears
// before it gives up (normally at most one: the key of a message that is
// gone).
const maxStaleKeys = 2

// AppendMessage stores m as the room's next event with one
// TransactWriteItems (head n→n+1, event, idempotency key) per attempt,
// preceded by a strongly consistent GetItem of the head only when the store
// does not know the room's head yet (see appendEvent). If m.ClientID is
// already taken in the room it returns the existing message's event with
// created == false (one more GetItem: the message the key points to).
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Event, bool, error) {
	if !chat.ValidSlug(m.Room) {
		return chat.Event{}, false, fmt.Errorf("dynamo: append message: room %q is not a valid slug", m.Room)
	}
	for stale := 0; ; stale++ {
		ev, err := s.appendMessage(ctx, m)
		var dup *duplicateError
		if !errors.As(err, &dup) {
			if err != nil {
				return chat.Event{}, false, fmt.Errorf("append message %s: %w", m.Room, err)
			}
			return ev, true, nil
		}
		first, live, err := s.duplicate(ctx, m.Room, m.ClientID, dup.id)
		if err != nil {
			return chat.Event{}, false, fmt.Errorf("append message %s: %w", m.Room, err)
		}
		if live {
			return first, false, nil
		}
		// The key points to a message that was deleted, cleared or expired
		// before its key: the clientId is free again.
		if stale >= maxStaleKeys {
			return chat.Event{}, false, fmt.Errorf("append message %s: clientId %s stays taken: %w", m.Room, m.ClientID, chat.ErrConflict)
		}
		if err := s.dropStaleKey(ctx, m.Room, m.ClientID, first.ID); err != nil {
			return chat.Event{}, false, fmt.Errorf("append message %s: %w", m.Room, err)
		}
	}
}

// appendMessage runs the append transaction; a taken clientId ends it with
// a *duplicateError.
func (s *Store) appendMessage(ctx context.Context, m chat.Message) (chat.Event, error) {
	var stored chat.Message
	build := func(id int64, at time.Time) (map[string]types.AttributeValue, []types.TransactWriteItem) {
		stored = m
		stored.ID, stored.SentAt = id, at
		expires := s.expiresAt(at)
		if m.ClientID == "" {
			return messageItem(stored, expires), nil
		}
		cid := key(roomPK(m.Room), cidSK(m.ClientID))
		cid[attrID] = numAV(id)
		if expires != 0 {
			cid[AttrExpiresAt] = numAV(expires)
		}
		return messageItem(stored, expires), []types.TransactWriteItem{{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                cid,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
	}
	check := func(extra []types.CancellationReason) error {
		if len(extra) == 1 && failed(extra[0]) {
			// Without the old item (an older server) the id stays 0 and
			// duplicate reads the key itself.
			id, _ := getN(extra[0].Item, attrID)
			return &duplicateError{id: id}
		}
		return nil
	}
	_, _, err := s.appendEvent(ctx, m.Room, build, check)
	if err != nil {
		return chat.Event{}, err
	}
	return chat.Event{ID: stored.ID, Room: stored.Room, Type: chat.EventMessage, At: stored.SentAt, Message: &stored}, nil
}

// duplicate reads the message that clientID's key points to (id, or read
// from the key when 0). live is false when the message is gone or a
// tombstone; first.ID is then the id the key points to.
func (s *Store) duplicate(ctx context.Context, room, clientID string, id int64) (first chat.Event, live bool, err error) {
	if id == 0 {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(s.table),
			Key:            key(roomPK(room), cidSK(clientID)),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return chat.Event{}, false, fmt.Errorf("read clientId %s: %w", clientID, err)
		}
		if len(out.Item) == 0 {
			// Removed since the transaction failed: free again.
			return chat.Event{}, false, nil
		}
		if id, err = getN(out.Item, attrID); err != nil {
			return chat.Event{}, false, fmt.Errorf("read clientId %s: %w", clientID, err)
		}
	}
	item, found, err := s.getEvent(ctx, room, id)
	if err != nil {
		return chat.Event{}, false, err
	}
	if !found {
		return chat.Event{ID: id}, false, nil
	}
	ev, err := decodeEvent(room, item)
	if err != nil {
		return chat.Event{}, false, err
	}
	if ev.Type == chat.EventEdit {
		// An edit's key: the clientId names that edit for as long as the
		// key lives.
		return chat.Event{}, false, fmt.Errorf("clientId %s names edit %d: %w", clientID, id, chat.ErrClientIDTaken)
	}
	if ev.Message == nil || ev.Message.ClientID != clientID {
		return chat.Event{ID: id}, false, nil
	}
	s.log.InfoContext(ctx, "dynamo: repeated clientId", slog.String("room", room), slog.Int64("id", id))
	return ev, true, nil
}

// dropStaleKey deletes clientID's key in room if it still points to id (or
// to nothing, id == 0: then there is nothing to delete).
func (s *Store) dropStaleKey(ctx context.Context, room, clientID string, id int64) error {
	if id == 0 {
		return nil
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(roomPK(room), cidSK(clientID)),
		ConditionExpression:       aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": attrID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": numAV(id)},
	})
	var condFailed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &condFailed) {
		return fmt.Errorf("drop stale clientId %s: %w", clientID, err)
	}
	return nil
}

// DeleteMessage turns message id of room into a tombstone if user wrote it
// and appends a delete event, in one transaction that also moves the head
// and drops the message's idempotency key (so the clientId is free again).
// Calls: one GetItem of the event, then per attempt one TransactWriteItems
// (and a GetItem of the head when the store does not know it).
func (s *Store) DeleteMessage(ctx context.Context, room string, id int64, user string) (chat.Event, error) {
	if !chat.ValidSlug(room) {
		return chat.Event{}, fmt.Errorf("dynamo: delete message: room %q is not a valid slug", room)
	}
	if id <= 0 {
		return chat.Event{}, fmt.Errorf("delete message %s/%d: %w", room, id, chat.ErrMessageNotFound)
	}
	item, found, err := s.getEvent(ctx, room, id)
	if err != nil {
		return chat.Event{}, fmt.Errorf("delete message %s/%d: %w", room, id, err)
	}
	if !found || getS(item, attrType) != string(chat.EventMessage) || getBool(item, attrTomb) {
		return chat.Event{}, fmt.Errorf("delete message %s/%d: %w", room, id, chat.ErrMessageNotFound)
	}
	if getS(item, attrUser) != user {
		return chat.Event{}, fmt.Errorf("delete message %s/%d by %q: %w", room, id, user, chat.ErrForbidden)
	}
	clientID := getS(item, attrClientID)

	errGone := errors.New("dynamo: message removed meanwhile")
	build := func(evID int64, at time.Time) (map[string]types.AttributeValue, []types.TransactWriteItem) {
		event := eventItem(room, evID, chat.EventDelete, at, s.expiresAt(at))
		event[attrDeletedID] = numAV(id)
		extra := []types.TransactWriteItem{{Update: &types.Update{
			TableName:        aws.String(s.table),
			Key:              key(roomPK(room), eventSK(id)),
			UpdateExpression: aws.String("SET #tomb = :true REMOVE #user, #text, #html, #cid, #gpk, #gsk"),
			// The author is checked again: the message may have been
			// cleared since the read.
			ConditionExpression: aws.String("attribute_not_exists(#tomb) AND #user = :user"),
			ExpressionAttributeNames: map[string]string{
				"#tomb": attrTomb, "#user": attrUser, "#text": attrText, "#html": attrHTML,
				"#cid": attrClientID, "#gpk": AttrGSI1PK, "#gsk": AttrGSI1SK,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":true": &types.AttributeValueMemberBOOL{Value: true},
				":user": strAV(user),
			},
		}}}
		if clientID != "" {
			extra = append(extra, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.table),
				Key:       key(roomPK(room), cidSK(clientID)),
			}})
		}
		return event, extra
	}
	check := func(extra []types.CancellationReason) error {
		if failed(extra[0]) {
			return errGone
		}
		return nil
	}
	evID, at, err := s.appendEvent(ctx, room, build, check)
	if errors.Is(err, errGone) {
		return chat.Event{}, fmt.Errorf("delete message %s/%d: %w", room, id, chat.ErrMessageNotFound)
	}
	if err != nil {
		return chat.Event{}, fmt.Errorf("delete message %s/%d: %w", room, id, err)
	}
	return chat.Event{ID: evID, Room: room, Type: chat.EventDelete, At: at, DeletedID: id}, nil
}
