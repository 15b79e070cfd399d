package limit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/internal/limit/limittest"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// testTable is the chat table the limiter shares, as in production.
const testTable = "chat-limit-test"

// local is the DynamoDB Local of the package's tests, started by TestMain
// unless -short.
var local struct {
	client *dynamodb.Client
	seq    atomic.Int64
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// testing.Short needs the flags parsed.
	if !shortFlag() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ddb, err := proc.StartDynamoDB(ctx, proc.DynamoConfig{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "limit tests: start DynamoDB Local: %v\n", err)
			return 1
		}
		defer func() {
			if err := ddb.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "limit tests: stop DynamoDB Local: %v\n", err)
			}
		}()
		local.client = testkit.DynamoClient(ddb.Endpoint())
		if err := dynamo.EnsureTable(ctx, local.client, testTable, true); err != nil {
			fmt.Fprintf(os.Stderr, "limit tests: %v\n", err)
			return 1
		}
	}
	return m.Run()
}

func shortFlag() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

func needDynamo(t *testing.T) {
	t.Helper()
	if local.client == nil {
		t.Skip(testkit.ShortSkipMessage(testkit.DynamoDBLocal))
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingAPI passes calls to DynamoDB Local and counts them.
type countingAPI struct {
	next  limit.API
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingAPI) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *countingAPI) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.next.UpdateItem(ctx, in, o...)
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.next.GetItem(ctx, in, o...)
}

func user(t *testing.T) string { return fmt.Sprintf("%s-%d", t.Name(), local.seq.Add(1)) }

// allower is what both limiters offer.
type allower interface {
	Allow(ctx context.Context, action, user string) (limit.Decision, error)
}

// TestLimiterWalk runs the same walk through time on the DynamoDB limiter
// and on the in-memory fake: they must decide alike. It pins the DynamoDB
// calls of each step.
func TestLimiterWalk(t *testing.T) {
	needDynamo(t)
	t.Parallel()
	ctx := context.Background()
	rules := limit.Rules{"send": {Rate: 6, Per: time.Minute, Burst: 3}} // one per 10 s
	clk := &clock{now: time.UnixMilli(1_800_000_000_000)}
	api := &countingAPI{next: local.client, calls: map[string]int{}}
	lim, err := limit.New(api, testTable, rules, limit.WithClock(clk.Now), limit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	fake := limittest.New(rules)
	fake.Now = clk.Now
	u := user(t)
	type counts = map[string]int
	steps := []struct {
		name    string
		advance time.Duration
		allowed bool
		wait    time.Duration
		calls   counts
	}{
		{"first, no bucket", 0, true, 0, counts{"UpdateItem": 1}},
		{"second, inside the burst", 0, true, 0, counts{"UpdateItem": 2}},
		{"third, last of the burst", 0, true, 0, counts{"UpdateItem": 2}},
		// The waits are 250 ms short of the 10 s interval: the slack.
		{"fourth, refused", 0, false, 9750 * time.Millisecond, counts{"UpdateItem": 1}},
		{"4 s later, still refused", 4 * time.Second, false, 5750 * time.Millisecond, counts{"UpdateItem": 1}},
		{"one interval later", 6 * time.Second, true, 0, counts{"UpdateItem": 2}},
		{"refused again", 0, false, 9750 * time.Millisecond, counts{"UpdateItem": 1}},
		{"an hour later, full", time.Hour, true, 0, counts{"UpdateItem": 1}},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		for name, l := range map[string]allower{"dynamo": lim, "fake": fake} {
			d, err := l.Allow(ctx, "send", u)
			if err != nil {
				t.Fatalf("%s: %s: %v", s.name, name, err)
			}
			if d.Allowed != s.allowed || d.RetryAfter != s.wait {
				t.Errorf("%s: %s: %+v, want allowed %v, wait %s", s.name, name, d, s.allowed, s.wait)
			}
		}
		if got := api.take(); !maps.Equal(got, s.calls) {
			t.Errorf("%s: calls %v, want %v", s.name, got, s.calls)
		}
	}
	// Other users and actions have their own buckets.
	if d, err := lim.Allow(ctx, "send", user(t)); err != nil || !d.Allowed {
		t.Errorf("another user: %+v, %v", d, err)
	}
	if _, err := lim.Allow(ctx, "nope", u); !errors.Is(err, limit.ErrUnknownAction) {
		t.Errorf("unknown action: %v, want ErrUnknownAction", err)
	}
}

// TestLimiterConcurrent fires many requests of one user at once from many
// goroutines (as many Lambda instances would): exactly Burst pass.
func TestLimiterConcurrent(t *testing.T) {
	needDynamo(t)
	t.Parallel()
	ctx := context.Background()
	const burst = 5
	clk := &clock{now: time.UnixMilli(1_800_000_000_000)}
	rules := limit.Rules{"react": {Rate: 1, Per: time.Hour, Burst: burst}}
	u := user(t)
	var passed, refused atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		lim, err := limit.New(local.client, testTable, rules, limit.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			d, err := lim.Allow(ctx, "react", u)
			switch {
			case err != nil:
				t.Errorf("Allow: %v", err)
			case d.Allowed:
				passed.Add(1)
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	// A request that gave up after maxAttempts is an error, reported above;
	// none may pass beyond the burst.
	if passed.Load() != burst {
		t.Errorf("%d passed, %d refused; want exactly %d to pass", passed.Load(), refused.Load(), burst)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	api := &countingAPI{}
	for name, f := range map[string]func() (*limit.Limiter, error){
		"nil client":  func() (*limit.Limiter, error) { return limit.New(nil, testTable, nil) },
		"short table": func() (*limit.Limiter, error) { return limit.New(api, "t", nil) },
		"bad rule": func() (*limit.Limiter, error) {
			return limit.New(api, testTable, limit.Rules{"send": {Rate: 0, Per: time.Second, Burst: 1}})
		},
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
