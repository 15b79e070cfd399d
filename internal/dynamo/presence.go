package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// PresenceAPI is the part of *dynamodb.Client that Presence calls.
type PresenceAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ chat.PresenceStore = (*Presence)(nil)

// Presence is chat.PresenceStore on the chat table: one item per visitor
// present in a room, in the room's partition,
//
//	pk = ROOM#<slug>, sk = PR#u#<user> or PR#g#<guest id>,
//	at (N, Unix ms of the last refresh), until (N, Unix ms),
//	expiresAt (N, Unix s: DynamoDB's TTL removes it after until)
//
// "PR#" sorts after "META", so presence items stay outside every range the
// event log reads (EV#… to META) and the clears remove (below EV#<n>). It
// is safe for concurrent use.
type Presence struct {
	client PresenceAPI
	table  string
}

// Presence item attributes and key prefixes.
const (
	prefixPresence = "PR#"
	prefixMember   = "u#"
	prefixGuest    = "g#"
	attrUntil      = "until"
)

// NewPresence returns a Presence on table through client.
func NewPresence(client PresenceAPI, table string) (*Presence, error) {
	if client == nil {
		return nil, errors.New("dynamo: new presence: client is nil")
	}
	if len(table) < 3 || len(table) > 255 {
		return nil, fmt.Errorf("dynamo: new presence: table name %q must have 3 to 255 characters", table)
	}
	return &Presence{client: client, table: table}, nil
}

// presenceSK is the sort key of a visitor's presence item.
func presenceSK(v chat.Visitor) string {
	if v.User != "" {
		return prefixPresence + prefixMember + v.User
	}
	return prefixPresence + prefixGuest + v.Guest
}

// visitorOf parses a presence sort key.
func visitorOf(sk string) (chat.Visitor, error) {
	rest, ok := strings.CutPrefix(sk, prefixPresence)
	if !ok {
		return chat.Visitor{}, fmt.Errorf("parse presence key %q: %w", sk, errBadItem)
	}
	if u, ok := strings.CutPrefix(rest, prefixMember); ok && u != "" {
		return chat.Visitor{User: u}, nil
	}
	if g, ok := strings.CutPrefix(rest, prefixGuest); ok && g != "" {
		return chat.Visitor{Guest: g}, nil
	}
	return chat.Visitor{}, fmt.Errorf("parse presence key %q: %w", sk, errBadItem)
}

// Touch implements chat.PresenceStore with one conditional UpdateItem: the
// condition (no item, or its last refresh at or before since) makes a
// refresh moments after another one a no-op that publishes nothing.
func (p *Presence) Touch(ctx context.Context, room string, v chat.Visitor, now, until, since time.Time) (bool, error) {
	if v.IsZero() {
		return false, errors.New("dynamo: touch presence: visitor is empty")
	}
	_, err := p.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(p.table),
		Key:                 key(roomPK(room), presenceSK(v)),
		UpdateExpression:    aws.String("SET #at = :now, #until = :until, #exp = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(#at) OR #at <= :since"),
		ExpressionAttributeNames: map[string]string{
			"#at": attrAt, "#until": attrUntil, "#exp": AttrExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":   numAV(now.UnixMilli()),
			":until": numAV(until.UnixMilli()),
			// Whole seconds, rounded up: DynamoDB's TTL never removes an
			// item before its until.
			":exp":   numAV((until.UnixMilli() + 999) / 1000),
			":since": numAV(since.UnixMilli()),
		},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("dynamo: touch presence %s in %s: %w", presenceSK(v), room, err)
	}
	return true, nil
}

// Present implements chat.PresenceStore with one Query of the room's
// presence items (more only past 1 MB of them), keeping those whose until
// is after now: expired items wait for DynamoDB's TTL and are skipped.
func (p *Presence) Present(ctx context.Context, room string, now time.Time) ([]chat.Presence, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(p.table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :pr)"),
		FilterExpression:       aws.String("#until > :now"),
		ProjectionExpression:   aws.String("#sk, #until"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#sk": AttrSK, "#until": attrUntil,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  strAV(roomPK(room)),
			":pr":  strAV(prefixPresence),
			":now": numAV(now.UnixMilli()),
		},
	}
	var out []chat.Presence
	for {
		res, err := p.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: query presence of %s: %w", room, err)
		}
		for _, item := range res.Items {
			v, err := visitorOf(getS(item, AttrSK))
			if err != nil {
				return nil, fmt.Errorf("dynamo: presence of %s: %w", room, err)
			}
			until, err := getN(item, attrUntil)
			if err != nil {
				return nil, fmt.Errorf("dynamo: presence of %s: %w", room, err)
			}
			out = append(out, chat.Presence{Visitor: v, Until: time.UnixMilli(until).UTC()})
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}
