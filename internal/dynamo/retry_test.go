package dynamo_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// raceAPI is a dynamo.API whose transactions lose the race for the next id
// a set number of times: what a real server shows only by chance. Reads
// answer from the fields; BatchWriteItem, DeleteItem and UpdateItem are not
// expected.
type raceAPI struct {
	// head is the lastId GetItem of the head returns.
	head int64
	// lose is how many transactions are cancelled before one succeeds;
	// -1 cancels them all.
	lose int
	// reason is the cancellation code of the head item.
	reason string
	// returnHead puts the head (head+attempt) in the cancellation reason, as
	// ALL_OLD does.
	returnHead bool
	// fail, when set, is the error of every transaction.
	fail error

	headReads, txs int
	// fromIDs are the head values the transactions tried to move from.
	fromIDs []string
}

func (f *raceAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if sk := in.Key[dynamo.AttrSK].(*types.AttributeValueMemberS).Value; sk != "META" {
		return nil, errors.New("raceAPI: unexpected GetItem of " + sk)
	}
	f.headReads++
	return &dynamodb.GetItemOutput{Item: map[string]types.AttributeValue{
		"lastId": &types.AttributeValueMemberN{Value: strconv.FormatInt(f.head+int64(f.txs), 10)},
	}}, nil
}

func (f *raceAPI) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.txs++
	if f.fail != nil {
		return nil, f.fail
	}
	head := in.TransactItems[0].Update
	from := "absent"
	if v, ok := head.ExpressionAttributeValues[":last"]; ok {
		from = v.(*types.AttributeValueMemberN).Value
	}
	f.fromIDs = append(f.fromIDs, from)
	if f.lose >= 0 && f.txs > f.lose {
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i].Code = aws.String("None")
	}
	reasons[0].Code = aws.String(f.reason)
	if f.returnHead {
		// Another writer committed: the head is one further each time.
		reasons[0].Item = map[string]types.AttributeValue{
			"lastId": &types.AttributeValueMemberN{Value: strconv.FormatInt(f.head+int64(f.txs), 10)},
		}
	}
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

func (f *raceAPI) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errors.New("raceAPI: unexpected Query")
}

func (f *raceAPI) BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return nil, errors.New("raceAPI: unexpected BatchWriteItem")
}

func (f *raceAPI) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errors.New("raceAPI: unexpected DeleteItem")
}

func (f *raceAPI) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, errors.New("raceAPI: unexpected BatchGetItem")
}

func (f *raceAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("raceAPI: unexpected UpdateItem")
}

// noPause retries at once; somePause always pauses (briefly).
func noPause(int, time.Duration) time.Duration   { return 0 }
func somePause(int, time.Duration) time.Duration { return time.Microsecond }

func TestAppendMessageRetriesLostRace(t *testing.T) {
	t.Parallel()
	errThrottled := errors.New("throttled")
	tests := []struct {
		name        string
		api         *raceAPI
		pause       func(int, time.Duration) time.Duration
		budget      time.Duration
		maxAttempts int
		wantID      int64
		wantErr     error
		wantTxs     int // 0: at least 2
		wantReads   int // 0: one per transaction
		wantFrom    []string
	}{
		{
			name:   "retried at once from the head the failed condition returned",
			api:    &raceAPI{head: 5, lose: 3, reason: "ConditionalCheckFailed", returnHead: true},
			pause:  noPause,
			wantID: 9, wantTxs: 4, wantReads: 1, wantFrom: []string{"5", "6", "7", "8"},
		},
		{
			name:   "after a pause the returned head is stale: read again",
			api:    &raceAPI{head: 5, lose: 3, reason: "ConditionalCheckFailed", returnHead: true},
			pause:  somePause,
			wantID: 9, wantTxs: 4, wantReads: 4, wantFrom: []string{"5", "6", "7", "8"},
		},
		{
			name:   "head not returned: read again",
			api:    &raceAPI{head: 5, lose: 2, reason: "ConditionalCheckFailed"},
			pause:  noPause,
			wantID: 8, wantTxs: 3, wantReads: 3, wantFrom: []string{"5", "6", "7"},
		},
		{
			name:   "transaction conflict is a lost race too",
			api:    &raceAPI{head: 0, lose: 1, reason: "TransactionConflict"},
			pause:  noPause,
			wantID: 2, wantTxs: 2, wantReads: 2, wantFrom: []string{"absent", "1"},
		},
		{
			name:   "default pauses win in the end",
			api:    &raceAPI{head: 5, lose: 2, reason: "ConditionalCheckFailed", returnHead: true},
			wantID: 8, wantTxs: 3, wantFrom: []string{"5", "6", "7"},
		},
		{
			name:        "gives up after max attempts",
			api:         &raceAPI{head: 1, lose: -1, reason: "ConditionalCheckFailed", returnHead: true},
			pause:       noPause,
			maxAttempts: 4,
			wantErr:     chat.ErrConflict, wantTxs: 4, wantReads: 1, wantFrom: []string{"1", "2", "3", "4"},
		},
		{
			name:    "gives up when the retry budget is spent",
			api:     &raceAPI{head: 1, lose: -1, reason: "ConditionalCheckFailed", returnHead: true},
			pause:   func(int, time.Duration) time.Duration { return time.Millisecond },
			budget:  20 * time.Millisecond,
			wantErr: chat.ErrConflict,
		},
		{
			name:    "gives up when the budget is spent retrying at once",
			api:     &raceAPI{head: 1, lose: -1, reason: "ConditionalCheckFailed", returnHead: true},
			pause:   noPause,
			budget:  5 * time.Millisecond,
			wantErr: chat.ErrConflict, wantReads: 1,
		},
		{
			name:    "other errors are not retried here",
			api:     &raceAPI{head: 1, fail: errThrottled},
			wantErr: errThrottled, wantTxs: 1, wantReads: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := tc.api
			opts := []dynamo.Option{dynamo.WithLogger(quiet), dynamo.WithClock(func() time.Time { return time.Unix(1, 0) })}
			if tc.pause != nil {
				opts = append(opts, dynamo.WithPause(tc.pause))
			}
			if tc.budget > 0 {
				opts = append(opts, dynamo.WithRetryBudget(tc.budget))
			}
			if tc.maxAttempts > 0 {
				opts = append(opts, dynamo.WithMaxAttempts(tc.maxAttempts))
			}
			st, err := dynamo.New(api, "fake-table", opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ev, created, err := st.AppendMessage(context.Background(), chat.Message{Room: "lobby", User: "a", Text: "hi"})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("AppendMessage error = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || !created || ev.ID != tc.wantID || ev.Message.ID != tc.wantID {
				t.Fatalf("AppendMessage = id %d, created %v, %v; want id %d", ev.ID, created, err, tc.wantID)
			}
			wantTxs, wantReads := tc.wantTxs, tc.wantReads
			if wantTxs == 0 && api.txs < 2 {
				t.Fatalf("%d transactions, want at least 2", api.txs)
			}
			if wantTxs == 0 {
				wantTxs = api.txs
			}
			if wantReads == 0 {
				wantReads = wantTxs
			}
			if api.txs != wantTxs || api.headReads != wantReads {
				t.Fatalf("%d transactions, %d head reads; want %d, %d", api.txs, api.headReads, wantTxs, wantReads)
			}
			if tc.wantFrom != nil && !slices.Equal(api.fromIDs, tc.wantFrom) {
				t.Fatalf("transactions moved the head from %v, want %v", api.fromIDs, tc.wantFrom)
			}
		})
	}
}

// TestAppendMessageStaleHeadGuess: a warm store starts from the head it
// remembers; when another writer moved it meanwhile, the cancelled
// transaction's returned head is tried at once, with no read and no pause,
// even where a lost race would pause.
func TestAppendMessageStaleHeadGuess(t *testing.T) {
	t.Parallel()
	api := &raceAPI{head: 5, reason: "ConditionalCheckFailed", returnHead: true}
	paused := 0
	pause := func(int, time.Duration) time.Duration { paused++; return time.Microsecond }
	st, err := dynamo.New(api, "fake-table", dynamo.WithLogger(quiet), dynamo.WithPause(pause))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	send := func() int64 {
		t.Helper()
		ev, _, err := st.AppendMessage(ctx, chat.Message{Room: "lobby", User: "a", Text: "hi"})
		if err != nil {
			t.Fatalf("AppendMessage: %v", err)
		}
		return ev.ID
	}
	if id := send(); id != 6 || api.headReads != 1 || api.txs != 1 {
		t.Fatalf("cold send: id %d, %d reads, %d transactions; want 6, 1, 1", id, api.headReads, api.txs)
	}
	// Warm, uncontended: one transaction, no read.
	api.lose = 1 // the first transaction succeeded: none is cancelled
	if id := send(); id != 7 || api.headReads != 1 || api.txs != 2 {
		t.Fatalf("warm send: id %d, %d reads, %d transactions; want 7, 1, 2", id, api.headReads, api.txs)
	}
	// Another writer took 8 and 9: the guess 7 is stale.
	api.head, api.lose = 7, 3 // the head is head+txs = 10 when the third transaction is cancelled
	if id := send(); id != 11 || api.headReads != 1 || api.txs != 4 || paused != 0 {
		t.Fatalf("stale guess: id %d, %d reads, %d transactions, %d pauses; want 11, 1, 4, 0", id, api.headReads, api.txs, paused)
	}
	if want := []string{"5", "6", "7", "10"}; !slices.Equal(api.fromIDs, want) {
		t.Fatalf("transactions moved the head from %v, want %v", api.fromIDs, want)
	}
	// A guess that fails again is a lost race: it pauses, then reads.
	api.head, api.lose = 8, 6 // transactions 5 (stale guess) and 6 (returned head) are cancelled
	if id := send(); id != 15 || api.headReads != 2 || paused != 1 {
		t.Fatalf("lost race after a stale guess: id %d, %d reads, %d pauses; want 15, 2, 1", id, api.headReads, paused)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const budget = 2 * time.Second
	tests := []struct {
		name   string
		lost   int
		waited time.Duration
		max    time.Duration // the pause is in [0, max); 0: no pause
	}{
		{"first lost race", 1, 0, 100 * time.Millisecond},
		{"window shrinks with every lost race", 2, 10 * time.Millisecond, 95 * time.Millisecond},
		{"tenth lost race", 10, 500 * time.Millisecond, 55 * time.Millisecond},
		{"last race with a pause", 20, 900 * time.Millisecond, 5 * time.Millisecond},
		{"a veteran retries at once", 21, 900 * time.Millisecond, 0},
		{"long after", 300, 900 * time.Millisecond, 0},
		{"half the budget gone", 2, budget / 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var longest time.Duration
			for range 2000 {
				d := dynamo.Backoff(budget, tc.lost, tc.waited)
				if d < 0 || (tc.max == 0 && d != 0) || (tc.max > 0 && d >= tc.max) {
					t.Fatalf("backoff(%d, %s) = %s, want in [0, %s)", tc.lost, tc.waited, d, tc.max)
				}
				longest = max(longest, d)
			}
			// Full jitter: 2000 draws cover the upper half of the window.
			if tc.max > 0 && longest < tc.max/2 {
				t.Fatalf("backoff(%d, %s) never above %s in 2000 draws, want up to %s", tc.lost, tc.waited, longest, tc.max)
			}
		})
	}
}

func TestAppendMessageStopsOnCancelledContext(t *testing.T) {
	t.Parallel()
	api := &raceAPI{head: 1, lose: -1, reason: "ConditionalCheckFailed"}
	st, err := dynamo.New(api, "fake-table", dynamo.WithLogger(quiet), dynamo.WithMaxAttempts(1000))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err = st.AppendMessage(ctx, chat.Message{Room: "lobby", User: "a", Text: "hi"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendMessage = %v, want context.DeadlineExceeded", err)
	}
	if api.txs >= 1000 {
		t.Fatalf("%d transactions: the backoff did not wait", api.txs)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	api := &raceAPI{}
	tests := []struct {
		name   string
		client dynamo.API
		table  string
		opts   []dynamo.Option
		ok     bool
	}{
		{"defaults", api, "chat", nil, true},
		{"all options", api, "chat", []dynamo.Option{dynamo.WithRetention(time.Hour), dynamo.WithMaxAttempts(3), dynamo.WithRetryBudget(time.Second),
			dynamo.WithClock(time.Now), dynamo.WithLogger(slog.Default())}, true},
		{"nil logger", api, "chat", []dynamo.Option{dynamo.WithLogger(nil)}, false},
		{"nil client", nil, "chat", nil, false},
		{"short table name", api, "ch", nil, false},
		{"negative retention", api, "chat", []dynamo.Option{dynamo.WithRetention(-time.Second)}, false},
		{"no attempt bound", api, "chat", []dynamo.Option{dynamo.WithMaxAttempts(0)}, true},
		{"negative attempts", api, "chat", []dynamo.Option{dynamo.WithMaxAttempts(-1)}, false},
		{"zero retry budget", api, "chat", []dynamo.Option{dynamo.WithRetryBudget(0)}, false},
		{"nil clock", api, "chat", []dynamo.Option{dynamo.WithClock(nil)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := dynamo.New(tc.client, tc.table, tc.opts...)
			if (err == nil) != tc.ok || (st != nil) != tc.ok {
				t.Fatalf("New = %v, %v; want ok %v", st, err, tc.ok)
			}
		})
	}
}
