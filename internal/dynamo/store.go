package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// API is the part of *dynamodb.Client that Store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ chat.Store = (*Store)(nil)

// DefaultRetryBudget is how long a write keeps trying to win the race for
// the next event id before it fails with chat.ErrConflict, unless
// WithRetryBudget says otherwise. It is a time, not a count: how many
// attempts a writer needs grows with the number of writers on the room, how
// long it may wait does not (a Lambda has a few seconds, not a few rounds).
const DefaultRetryBudget = 2 * time.Second

// Pause after a lost race for the next event id: full jitter over a window
// that starts at backoffFirst and shrinks by backoffShrink with every race
// the write lost, down to no pause at all (see Store.backoff for why it
// shrinks rather than grows).
const (
	backoffFirst  = 100 * time.Millisecond
	backoffShrink = 5 * time.Millisecond
)

// Store is chat.Store on one DynamoDB table (see the package documentation
// for the key design). It is safe for concurrent use.
type Store struct {
	client      API
	table       string
	retention   time.Duration
	clock       func() time.Time
	log         *slog.Logger
	retryBudget time.Duration
	maxAttempts int
	// pause is the wait after the lost-th lost race of a write that has
	// been trying for waited (s.backoff; tests replace it).
	pause func(lost int, waited time.Duration) time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithRetention keeps events and idempotency keys for d, by setting their
// expiresAt TTL attribute; 0 (the default) keeps them forever. The table's
// TTL must be on for DynamoDB to act on it.
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithClock sets the clock that stamps events (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithRetryBudget sets how long a write keeps trying to win the race for the
// next event id before it fails with chat.ErrConflict (default
// DefaultRetryBudget). It must be positive; the context's deadline, when
// sooner, still ends the write first.
func WithRetryBudget(d time.Duration) Option { return func(s *Store) { s.retryBudget = d } }

// WithMaxAttempts also bounds how many transactions a write tries for the
// next event id, within the retry budget; 0 (the default) leaves only the
// budget.
func WithMaxAttempts(n int) Option { return func(s *Store) { s.maxAttempts = n } }

// New returns a Store on table through client.
func New(client API, table string, opts ...Option) (*Store, error) {
	st := &Store{
		client:      client,
		table:       table,
		clock:       time.Now,
		log:         slog.Default(),
		retryBudget: DefaultRetryBudget,
	}
	st.pause = st.backoff
	for _, o := range opts {
		o(st)
	}
	switch {
	case client == nil:
		return nil, errors.New("dynamo: new store: client is nil")
	case len(table) < 3 || len(table) > 255:
		return nil, fmt.Errorf("dynamo: new store: table name %q must have 3 to 255 characters", table)
	case st.retention < 0:
		return nil, fmt.Errorf("dynamo: new store: retention %s is negative", st.retention)
	case st.retryBudget <= 0:
		return nil, fmt.Errorf("dynamo: new store: retry budget %s is not positive", st.retryBudget)
	case st.maxAttempts < 0:
		return nil, fmt.Errorf("dynamo: new store: max attempts %d is negative", st.maxAttempts)
	case st.clock == nil:
		return nil, errors.New("dynamo: new store: clock is nil")
	case st.log == nil:
		return nil, errors.New("dynamo: new store: logger is nil")
	}
	return st, nil
}

// now is the time that stamps a new event: UTC, millisecond precision (what
// the item keeps).
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Millisecond) }

// expiresAt is the TTL of an item written at, or 0 for none.
func (s *Store) expiresAt(at time.Time) int64 {
	if s.retention == 0 {
		return 0
	}
	return at.Add(s.retention).Unix()
}

// lastID reads the room's head: its last event id, 0 for a room without
// events. The read is strongly consistent: it decides the next id.
func (s *Store) lastID(ctx context.Context, room string) (int64, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(roomPK(room), skHead),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#l"),
		ExpressionAttributeNames: map[string]string{"#l": attrLastID},
	})
	if err != nil {
		return 0, fmt.Errorf("read head of %s: %w", room, err)
	}
	id, err := getN(out.Item, attrLastID)
	if err != nil {
		return 0, fmt.Errorf("read head of %s: %w", room, err)
	}
	return id, nil
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

// eventBuilder makes the item of the event with id, stamped at, and the
// other writes that must commit with it.
type eventBuilder func(id int64, at time.Time) (event map[string]types.AttributeValue, extra []types.TransactWriteItem)

// cancelCheck looks at the cancellation reasons of the extra writes of a
// cancelled transaction. A non-nil error ends the append with that error;
// nil means the transaction lost the race for the id (or hit a transient
// conflict) and is tried again.
type cancelCheck func(extra []types.CancellationReason) error

// appendEvent appends the event that build makes as the room's next event,
// atomically with build's extra writes. It reads the head (strongly
// consistent) and moves it from n to n+1 under the condition that it is
// still n. A lost race is tried again, after the pause that s.backoff
// chooses, until the retry budget (and the optional attempt bound) is spent;
// then the append fails with chat.ErrConflict. A retry without a pause
// starts from the head that the failed condition returned (ALL_OLD), which
// is fresh; after a pause that head is stale, so it reads the head again.
//
// Every attempt writes under the head condition, so a retry can neither skip
// nor reuse an id.
func (s *Store) appendEvent(ctx context.Context, room string, build eventBuilder, check cancelCheck) (int64, time.Time, error) {
	start := time.Now()
	deadline := start.Add(s.retryBudget)
	last, known := int64(0), false
	for attempt := 1; ; attempt++ {
		if !known {
			var err error
			if last, err = s.lastID(ctx, room); err != nil {
				return 0, time.Time{}, err
			}
		}
		known = false
		id, at := last+1, s.now()
		event, extra := build(id, at)
		items := make([]types.TransactWriteItem, 0, 2+len(extra))
		items = append(items, s.headUpdate(room, last, id), types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     event,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}})
		items = append(items, extra...)
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			if attempt > 1 {
				s.log.DebugContext(ctx, "dynamo: won the next event id",
					slog.String("room", room), slog.Int64("id", id), slog.Int("attempts", attempt),
					slog.Duration("waited", time.Since(start)))
			}
			return id, at, nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return 0, time.Time{}, fmt.Errorf("write event %s/%d: %w", room, id, err)
		}
		if reasons := cancelled.CancellationReasons; len(reasons) == len(items) {
			if err := check(reasons[2:]); err != nil {
				return 0, time.Time{}, err
			}
			// The failed head condition returned the head as it is now:
			// an immediate retry needs no read of its own.
			if failed(reasons[0]) {
				if now, err := getN(reasons[0].Item, attrLastID); err == nil && now > last {
					last, known = now, true
				}
			}
		}
		pause := s.pause(attempt, time.Since(start))
		if pause > 0 {
			known = false
		}
		if (s.maxAttempts > 0 && attempt >= s.maxAttempts) || time.Now().Add(pause).After(deadline) {
			s.log.WarnContext(ctx, "dynamo: gave up on the next event id",
				slog.String("room", room), slog.Int("attempts", attempt), slog.Duration("waited", time.Since(start)),
				slog.String("reason", reasonCodes(cancelled)))
			return 0, time.Time{}, fmt.Errorf("write event %s after %d attempts: %w", room, attempt, chat.ErrConflict)
		}
		s.log.DebugContext(ctx, "dynamo: lost the race for the next event id",
			slog.String("room", room), slog.Int64("id", id), slog.Int("attempt", attempt),
			slog.Duration("pause", pause), slog.String("reason", reasonCodes(cancelled)))
		if err := sleep(ctx, pause); err != nil {
			return 0, time.Time{}, fmt.Errorf("write event %s: %w", room, err)
		}
	}
}

// headUpdate moves the room's head from last to next, only if it is still
// at last.
func (s *Store) headUpdate(room string, last, next int64) types.TransactWriteItem {
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(roomPK(room), skHead),
		UpdateExpression:          aws.String("SET #l = :next"),
		ExpressionAttributeNames:  map[string]string{"#l": attrLastID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": numAV(next)},
		// A lost race returns the current head in the cancellation reason.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if last == 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#l)")
	} else {
		u.ConditionExpression = aws.String("#l = :last")
		u.ExpressionAttributeValues[":last"] = numAV(last)
	}
	return types.TransactWriteItem{Update: u}
}

// codeConditionFailed is the cancellation reason code of an item whose
// condition failed.
const codeConditionFailed = "ConditionalCheckFailed"

// failed reports whether a cancellation reason says the item's condition
// failed.
func failed(r types.CancellationReason) bool { return aws.ToString(r.Code) == codeConditionFailed }

// reasonCodes lists the cancellation codes of a transaction, for logs.
func reasonCodes(e *types.TransactionCanceledException) string {
	var b []byte
	for i, r := range e.CancellationReasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, aws.ToString(r.Code)...)
	}
	return string(b)
}

// backoff is the pause after the lost-th lost race of a write that has been
// trying for waited: full jitter over
// [0, backoffFirst - (lost-1)·backoffShrink), and none once that window is
// empty (from the 21st lost race on) or half the retry budget is gone.
//
// The window shrinks, unlike the usual exponential backoff, because what
// turns a busy room into 503s is starvation, not load: a writer sleeping in
// a growing window keeps losing to writers that do not sleep (a fresh send,
// or the winner's next one), however many attempts it is given. Shrinking
// ranks writers by how long they have waited, as an age-based contention
// manager does: a newcomer that collides steps back for a while, which
// spreads the many and keeps their doomed transactions off the table, while
// a writer that kept losing soon retries at once with the head its failed
// condition returned and then competes only with the few other veterans.
// Against DynamoDB Local, 20 writers × 10 sends on one room (see
// TestAppendMessageConcurrentSenders) need about half the transactions of
// immediate retries and none gives up, where the growing window lost a few
// percent of the sends to chat.ErrConflict.
func (s *Store) backoff(lost int, waited time.Duration) time.Duration {
	window := backoffFirst - time.Duration(lost-1)*backoffShrink
	if window <= 0 || waited >= s.retryBudget/2 {
		return 0
	}
	return rand.N(window)
}

// sleep waits d, or until ctx is done; with d <= 0 it only checks ctx.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
