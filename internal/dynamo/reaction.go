package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// errReactionUnchanged ends a reaction transaction whose message already
// is as asked (the user's reaction is there, or is not).
var errReactionUnchanged = errors.New("dynamo: reaction already so")

// React adds (r.On) or removes r.User in the message's string set
// rx:<emoji> and appends a reaction event, in one transaction that also
// moves the head. The set's condition (the user not in it to add, in it to
// remove) makes the change idempotent: a second identical request, from
// another tab or a retry, cancels and stores nothing (changed == false),
// so a user is never counted twice. The cancelled condition returns the
// message (ALL_OLD), which tells a missing or deleted message from a
// reaction already so, without a read first. The message also keeps the id
// of its latest reaction event (rxId), which lets a user's clear tell the
// sets' state before its refresh from a change after it.
//
// Calls: per attempt one TransactWriteItems (and a GetItem of the head when
// the store does not know it).
func (s *Store) React(ctx context.Context, r chat.Reaction) (chat.Event, bool, error) {
	if !chat.ValidSlug(r.Room) {
		return chat.Event{}, false, fmt.Errorf("dynamo: react: room %q is not a valid slug", r.Room)
	}
	if r.MessageID <= 0 {
		return chat.Event{}, false, fmt.Errorf("react to %s/%d: %w", r.Room, r.MessageID, chat.ErrMessageNotFound)
	}
	build := func(evID int64, at time.Time) (map[string]types.AttributeValue, []types.TransactWriteItem) {
		event := eventItem(r.Room, evID, chat.EventReaction, at, s.expiresAt(at))
		event[attrTarget] = numAV(r.MessageID)
		event[attrUser] = strAV(r.User)
		event[attrEmoji] = strAV(r.Emoji)
		event[attrOn] = &types.AttributeValueMemberBOOL{Value: r.On}
		update, cond := "DELETE #rx :users SET #rxid = :evid", " AND contains(#rx, :user)"
		if r.On {
			update, cond = "ADD #rx :users SET #rxid = :evid", " AND NOT contains(#rx, :user)"
		}
		return event, []types.TransactWriteItem{{Update: &types.Update{
			TableName:           aws.String(s.table),
			Key:                 key(roomPK(r.Room), eventSK(r.MessageID)),
			UpdateExpression:    aws.String(update),
			ConditionExpression: aws.String("#type = :message AND attribute_not_exists(#tomb)" + cond),
			ExpressionAttributeNames: map[string]string{
				"#rx": reactionAttr(r.Emoji), "#rxid": attrReactionID, "#type": attrType, "#tomb": attrTomb,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":users":   &types.AttributeValueMemberSS{Value: []string{r.User}},
				":user":    strAV(r.User),
				":evid":    numAV(evID),
				":message": strAV(string(chat.EventMessage)),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
	}
	check := func(extra []types.CancellationReason) error {
		if !failed(extra[0]) {
			return nil
		}
		item := extra[0].Item
		switch {
		case len(item) == 0, getS(item, attrType) != string(chat.EventMessage):
			// (A server that does not return the old item lands here too:
			// it cannot tell, and says the message is not found.)
			return chat.ErrMessageNotFound
		case getBool(item, attrTomb):
			return chat.ErrMessageDeleted
		default:
			return errReactionUnchanged
		}
	}
	evID, at, err := s.appendEvent(ctx, r.Room, build, check)
	switch {
	case errors.Is(err, errReactionUnchanged):
		return chat.Event{}, false, nil
	case err != nil:
		return chat.Event{}, false, fmt.Errorf("react to %s/%d: %w", r.Room, r.MessageID, err)
	}
	rx := r
	return chat.Event{ID: evID, Room: r.Room, Type: chat.EventReaction, At: at, Reaction: &rx}, true, nil
}
