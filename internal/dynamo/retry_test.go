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
// answer from the fields; BatchWriteItem and DeleteItem are not expected.
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

func TestAppendMessageRetriesLostRace(t *testing.T) {
	t.Parallel()
	errThrottled := errors.New("throttled")
	tests := []struct {
		name        string
		api         *raceAPI
		maxAttempts int
		wantID      int64
		wantErr     error
		wantTxs     int
		wantReads   int
		wantFrom    []string
	}{
		{
			name:   "head returned by the failed condition",
			api:    &raceAPI{head: 5, lose: 3, reason: "ConditionalCheckFailed", returnHead: true},
			wantID: 9, wantTxs: 4, wantReads: 1, wantFrom: []string{"5", "6", "7", "8"},
		},
		{
			name:   "head not returned: read again",
			api:    &raceAPI{head: 5, lose: 2, reason: "ConditionalCheckFailed"},
			wantID: 8, wantTxs: 3, wantReads: 3, wantFrom: []string{"5", "6", "7"},
		},
		{
			name:   "transaction conflict is a lost race too",
			api:    &raceAPI{head: 0, lose: 1, reason: "TransactionConflict"},
			wantID: 2, wantTxs: 2, wantReads: 2, wantFrom: []string{"absent", "1"},
		},
		{
			name:        "gives up after max attempts",
			api:         &raceAPI{head: 1, lose: -1, reason: "ConditionalCheckFailed", returnHead: true},
			maxAttempts: 4,
			wantErr:     chat.ErrConflict, wantTxs: 4, wantReads: 1, wantFrom: []string{"1", "2", "3", "4"},
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
			if api.txs != tc.wantTxs || api.headReads != tc.wantReads {
				t.Fatalf("%d transactions, %d head reads; want %d, %d", api.txs, api.headReads, tc.wantTxs, tc.wantReads)
			}
			if tc.wantFrom != nil && !slices.Equal(api.fromIDs, tc.wantFrom) {
				t.Fatalf("transactions moved the head from %v, want %v", api.fromIDs, tc.wantFrom)
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
		{"all options", api, "chat", []dynamo.Option{dynamo.WithRetention(time.Hour), dynamo.WithMaxAttempts(3),
			dynamo.WithClock(time.Now), dynamo.WithLogger(slog.Default())}, true},
		{"nil logger", api, "chat", []dynamo.Option{dynamo.WithLogger(nil)}, false},
		{"nil client", nil, "chat", nil, false},
		{"short table name", api, "ch", nil, false},
		{"negative retention", api, "chat", []dynamo.Option{dynamo.WithRetention(-time.Second)}, false},
		{"zero attempts", api, "chat", []dynamo.Option{dynamo.WithMaxAttempts(0)}, false},
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
