package dynamo

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// Attribute names of the items other than keys and TTL; see the package
// documentation.
const (
	attrLastID    = "lastId"
	attrType      = "type"
	attrID        = "id"
	attrAt        = "at"
	attrUser      = "user"
	attrText      = "text"
	attrHTML      = "html"
	attrClientID  = "clientId"
	attrDeletedID = "deletedId"
	attrTomb      = "tomb"
	attrTarget    = "target"
	attrEditedAt  = "editedAt"
	attrEmoji     = "emoji"
	attrOn        = "on"
	// attrReactionID is, on a message, the id of the latest reaction event
	// that changed one of its rx:<emoji> sets.
	attrReactionID = "rxId"
	// prefixReaction starts the name of a message's attribute holding the
	// users (a string set) who reacted with one emoji: "rx:👍".
	prefixReaction = "rx:"
)

// Sort keys and key prefixes.
const (
	skHead      = "META"
	prefixEvent = "EV#"
	prefixCID   = "CID#"
	prefixRoom  = "ROOM#"
	prefixUser  = "USER#"
)

// errBadItem reports an item that does not have the shape this package
// writes.
var errBadItem = errors.New("dynamo: malformed item")

// roomPK is the partition key of a room.
func roomPK(room string) string { return prefixRoom + room }

// eventSK is the sort key of event id: zero-padded so that string order is
// id order.
func eventSK(id int64) string { return fmt.Sprintf("%s%020d", prefixEvent, id) }

// cidSK is the sort key of the idempotency key of a clientId.
func cidSK(clientID string) string { return prefixCID + clientID }

// userPK is the byUser index partition key of an author.
func userPK(user string) string { return prefixUser + user }

// userSK is the byUser index sort key of message id in room.
func userSK(room string, id int64) string { return prefixRoom + room + "#" + eventSK(id) }

// userSKPrefix is the prefix of every byUser sort key of a room.
func userSKPrefix(room string) string { return prefixRoom + room + "#" + prefixEvent }

// roomOfUserSK returns the room slug and message id of a byUser sort key.
func roomOfUserSK(sk string) (string, int64, error) {
	rest, ok := strings.CutPrefix(sk, prefixRoom)
	if !ok {
		return "", 0, fmt.Errorf("parse index key %q: %w", sk, errBadItem)
	}
	i := strings.LastIndex(rest, "#"+prefixEvent)
	if i < 0 {
		return "", 0, fmt.Errorf("parse index key %q: %w", sk, errBadItem)
	}
	id, err := strconv.ParseInt(rest[i+1+len(prefixEvent):], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("parse index key %q: %w", sk, errBadItem)
	}
	return rest[:i], id, nil
}

// key returns the primary key of an item.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: strAV(pk), AttrSK: strAV(sk)}
}

// strAV is a string attribute value.
func strAV(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// numAV is a number attribute value.
func numAV(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// getS returns a string attribute, "" when absent.
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns a number attribute, 0 when absent.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, nil
	}
	nv, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is %T: %w", name, v, errBadItem)
	}
	i, err := strconv.ParseInt(nv.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s = %q: %w", name, nv.Value, errBadItem)
	}
	return i, nil
}

// getBool reports whether a boolean attribute is present and true.
func getBool(item map[string]types.AttributeValue, name string) bool {
	v, ok := item[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

// eventItem is the item of a new event: keys, type, id, at and expiresAt
// (when expires is not zero). Callers add the type's own fields.
func eventItem(room string, id int64, typ chat.EventType, at time.Time, expires int64) map[string]types.AttributeValue {
	item := key(roomPK(room), eventSK(id))
	item[attrType] = strAV(string(typ))
	item[attrID] = numAV(id)
	item[attrAt] = numAV(at.UnixMilli())
	if expires != 0 {
		item[AttrExpiresAt] = numAV(expires)
	}
	return item
}

// messageItem is the item of a new live message event, indexed by author.
func messageItem(m chat.Message, expires int64) map[string]types.AttributeValue {
	item := eventItem(m.Room, m.ID, chat.EventMessage, m.SentAt, expires)
	item[attrUser] = strAV(m.User)
	item[attrText] = strAV(m.Text)
	item[attrHTML] = strAV(m.HTML)
	if m.ClientID != "" {
		item[attrClientID] = strAV(m.ClientID)
	}
	item[AttrGSI1PK] = strAV(userPK(m.User))
	item[AttrGSI1SK] = strAV(userSK(m.Room, m.ID))
	return item
}

// tombstoneItem is what is left of message id once it is removed: enough to
// keep the event log contiguous, nothing of its content.
func tombstoneItem(room string, id int64, at time.Time, expires int64) map[string]types.AttributeValue {
	item := eventItem(room, id, chat.EventMessage, at, expires)
	item[attrTomb] = &types.AttributeValueMemberBOOL{Value: true}
	return item
}

// decodeEvent turns an event item of room into an event. A tombstone comes
// back as an EventMessage with a nil Message.
func decodeEvent(room string, item map[string]types.AttributeValue) (chat.Event, error) {
	id, err := getN(item, attrID)
	if err != nil {
		return chat.Event{}, fmt.Errorf("decode event of %s: %w", room, err)
	}
	atMs, err := getN(item, attrAt)
	if err != nil {
		return chat.Event{}, fmt.Errorf("decode event %s/%d: %w", room, id, err)
	}
	ev := chat.Event{
		ID:   id,
		Room: room,
		Type: chat.EventType(getS(item, attrType)),
		At:   time.UnixMilli(atMs).UTC(),
	}
	switch ev.Type {
	case chat.EventMessage:
		if getBool(item, attrTomb) {
			return ev, nil
		}
		ev.Message = &chat.Message{
			ID:       id,
			Room:     room,
			User:     getS(item, attrUser),
			Text:     getS(item, attrText),
			HTML:     getS(item, attrHTML),
			SentAt:   ev.At,
			ClientID: getS(item, attrClientID),
		}
		if err := decodeChanges(ev.Message, item); err != nil {
			return chat.Event{}, fmt.Errorf("decode event %s/%d: %w", room, id, err)
		}
	case chat.EventEdit:
		// The message comes from its own item (EventsAfter joins it).
		if ev.EditedID, err = getN(item, attrTarget); err != nil {
			return chat.Event{}, fmt.Errorf("decode event %s/%d: %w", room, id, err)
		}
	case chat.EventReaction:
		target, err := getN(item, attrTarget)
		if err != nil {
			return chat.Event{}, fmt.Errorf("decode event %s/%d: %w", room, id, err)
		}
		ev.Reaction = &chat.Reaction{
			MessageID: target, Room: room, User: getS(item, attrUser),
			Emoji: getS(item, attrEmoji), On: getBool(item, attrOn),
		}
	case chat.EventDelete:
		if ev.DeletedID, err = getN(item, attrDeletedID); err != nil {
			return chat.Event{}, fmt.Errorf("decode event %s/%d: %w", room, id, err)
		}
	case chat.EventRefresh:
		ev.User = getS(item, attrUser)
	default:
		return chat.Event{}, fmt.Errorf("decode event %s/%d: type %q: %w", room, id, ev.Type, errBadItem)
	}
	return ev, nil
}

// decodeChanges reads what edits and reactions changed on a message item:
// editedAt and the rx:<emoji> sets.
func decodeChanges(m *chat.Message, item map[string]types.AttributeValue) error {
	edited, err := getN(item, attrEditedAt)
	if err != nil {
		return err
	}
	if edited != 0 {
		at := time.UnixMilli(edited).UTC()
		m.EditedAt = &at
	}
	for name, v := range item {
		emoji, ok := strings.CutPrefix(name, prefixReaction)
		if !ok {
			continue
		}
		set, ok := v.(*types.AttributeValueMemberSS)
		if !ok {
			return fmt.Errorf("attribute %s is %T: %w", name, v, errBadItem)
		}
		if len(set.Value) == 0 {
			continue
		}
		if m.Reactions == nil {
			m.Reactions = map[string][]string{}
		}
		users := append([]string(nil), set.Value...)
		slices.Sort(users)
		m.Reactions[emoji] = users
	}
	return nil
}

// reactionAttr is the name of a message's attribute holding the users who
// reacted with emoji.
func reactionAttr(emoji string) string { return prefixReaction + emoji }
