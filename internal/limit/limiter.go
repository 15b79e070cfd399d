package limit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of *dynamodb.Client that Limiter calls.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Attribute names and key prefix of a bucket item (see the package
// documentation). pk, sk and expiresAt are the chat table's own.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrTAT       = "tat"
	attrExpiresAt = "expiresAt"
	prefixLimit   = "LIMIT#"
)

// maxAttempts bounds the UpdateItems of one Allow. Two suffice unless other
// requests of the same user and action race it; each lost race moves the
// bucket, so a few more settle it.
const maxAttempts = 4

// Limiter is the rate limiter on DynamoDB. It is safe for concurrent use.
type Limiter struct {
	client API
	table  string
	rules  Rules
	clock  func() time.Time
	log    *slog.Logger
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.clock = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(log *slog.Logger) Option { return func(l *Limiter) { l.log = log } }

// New returns a Limiter that keeps its buckets in table through client and
// applies rules (DefaultRules when nil).
func New(client API, table string, rules Rules, opts ...Option) (*Limiter, error) {
	if rules == nil {
		rules = DefaultRules()
	}
	l := &Limiter{client: client, table: table, rules: rules, clock: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(l)
	}
	switch {
	case client == nil:
		return nil, errors.New("limit: new limiter: client is nil")
	case len(table) < 3 || len(table) > 255:
		return nil, fmt.Errorf("limit: new limiter: table name %q must have 3 to 255 characters", table)
	case l.clock == nil || l.log == nil:
		return nil, errors.New("limit: new limiter: clock and logger must not be nil")
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("limit: new limiter: %w", err)
	}
	return l, nil
}

// Rules returns the limiter's rules.
func (l *Limiter) Rules() Rules { return l.rules }

// Allow takes one token of user's bucket for action, if there is one. An
// error (DynamoDB failed, unknown action) comes with a zero Decision; the
// caller decides whether to fail open.
func (l *Limiter) Allow(ctx context.Context, action, user string) (Decision, error) {
	rule, ok := l.rules[action]
	if !ok {
		return Decision{}, fmt.Errorf("limit: allow %q: %w", action, ErrUnknownAction)
	}
	if user == "" {
		return Decision{}, fmt.Errorf("limit: allow %s: user is empty", action)
	}
	now := l.clock().UnixMilli()
	t := rule.Interval().Milliseconds()
	// The bucket is full again at its TAT: let TTL remove it after that
	// (the latest TAT this call can write is now + Burst·T).
	expires := (now+int64(rule.Burst)*t)/1000 + 1
	full := true // first try case 1: the usual one
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		in := &dynamodb.UpdateItemInput{
			TableName:                           aws.String(l.table),
			Key:                                 bucketKey(user, action),
			ExpressionAttributeNames:            map[string]string{"#tat": attrTAT, "#exp": attrExpiresAt},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
		if full {
			in.UpdateExpression = aws.String("SET #tat = :next, #exp = :exp")
			in.ConditionExpression = aws.String("attribute_not_exists(#tat) OR #tat <= :now")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{
				":next": num(now + t), ":exp": num(expires), ":now": num(now),
			}
		} else {
			in.UpdateExpression = aws.String("SET #tat = #tat + :t, #exp = :exp")
			in.ConditionExpression = aws.String("#tat > :now AND #tat <= :limit")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{
				":t": num(t), ":exp": num(expires), ":now": num(now), ":limit": num(now + rule.allowance() + rule.slack()),
			}
		}
		_, err := l.client.UpdateItem(ctx, in)
		if err == nil {
			return Decision{Allowed: true}, nil
		}
		var cond *types.ConditionalCheckFailedException
		if !errors.As(err, &cond) {
			return Decision{}, fmt.Errorf("limit: update bucket %s of %q: %w", action, user, err)
		}
		item := cond.Item
		if item == nil {
			// A server that does not return the old item on a failed
			// condition: read it.
			if item, err = l.read(ctx, user, action); err != nil {
				return Decision{}, err
			}
		}
		tat, err := getN(item, attrTAT)
		if err != nil {
			return Decision{}, fmt.Errorf("limit: bucket %s of %q: %w", action, user, err)
		}
		d, _ := rule.Decide(tat, now)
		if !d.Allowed {
			l.log.DebugContext(ctx, "limit: refused", slog.String("action", action), slog.String("user", user),
				slog.Duration("retryAfter", d.RetryAfter))
			return d, nil
		}
		full = tat <= now
	}
	return Decision{}, fmt.Errorf("limit: bucket %s of %q: still contended after %d attempts", action, user, maxAttempts)
}

// read reads a bucket with a strongly consistent GetItem.
func (l *Limiter) read(ctx context.Context, user, action string) (map[string]types.AttributeValue, error) {
	out, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            bucketKey(user, action),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("limit: read bucket %s of %q: %w", action, user, err)
	}
	return out.Item, nil
}

// bucketKey is the key of user's bucket for action.
func bucketKey(user, action string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: prefixLimit + user},
		attrSK: &types.AttributeValueMemberS{Value: action},
	}
}

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// getN returns a number attribute, 0 when absent.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is %T, not a number", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s = %q: %w", name, n.Value, err)
	}
	return i, nil
}
