package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// API is the part of *dynamodb.Client that Store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ chat.Store = (*Store)(nil)

// Store is chat.Store on one DynamoDB table (see the package documentation
// for the key design). It is safe for concurrent use.
type Store struct {
	client    API
	table     string
	retention time.Duration
	clock     func() time.Time
	log       *slog.Logger
	// retryBudget is how long a write tries for the next event id
	// (DefaultRetryBudget); maxAttempts, when positive, also bounds its
	// attempts. Only tests change them.
	retryBudget time.Duration
	maxAttempts int
	// pause is the wait after the lost-th lost race of a write that has
	// been trying for waited (s.backoff; tests replace it).
	pause func(lost int, waited time.Duration) time.Duration
	// heads is the last id this store saw at the head of each room: the
	// guess a write starts from (see appendEvent).
	heads heads
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

// New returns a Store on table through client.
func New(client API, table string, opts ...Option) (*Store, error) {
	st := &Store{
		client:      client,
		table:       table,
		clock:       time.Now,
		log:         slog.Default(),
		retryBudget: DefaultRetryBudget,
		heads:       heads{last: map[string]int64{}},
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
