package dynamo_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// testTable is the table every integration test of the package shares;
// tests keep apart by using their own rooms and users.
const testTable = "chat-dynamo-test"

// local is the DynamoDB Local the package's tests share, started once by
// TestMain.
var local struct {
	client *dynamodb.Client
	seq    atomic.Int64
	// skip, when set, is why DynamoDB Local was not started: the tests
	// that need it skip with this message.
	skip string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		local.skip = testkit.ShortSkipMessage(testkit.DynamoDBLocal)
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ddb, err := proc.StartDynamoDB(ctx, proc.DynamoConfig{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "dynamo tests: start DynamoDB Local: %v\n", err)
		return 1
	}
	defer func() {
		if err := ddb.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dynamo tests: stop DynamoDB Local: %v\n", err)
		}
	}()
	local.client = testkit.DynamoClient(ddb.Endpoint())
	if err := dynamo.EnsureTable(ctx, local.client, testTable, true); err != nil {
		fmt.Fprintf(os.Stderr, "dynamo tests: %v\n", err)
		return 1
	}
	return m.Run()
}

// requireLocal skips t when DynamoDB Local was not started (-short).
func requireLocal(t testing.TB) {
	t.Helper()
	if local.skip != "" {
		t.Skip(local.skip)
	}
}

// quiet is the logger of test stores: their logs are not what is tested.
var quiet = slog.New(slog.DiscardHandler)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// unique returns a slug-safe name unique in the test run, derived from the
// test's name so leftovers are easy to trace.
func unique(t testing.TB, what string) string {
	requireLocal(t)
	base := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return fmt.Sprintf("%s-%s-%d", what, strings.Trim(base, "-"), local.seq.Add(1))
}

// newStore returns a Store on the shared table.
func newStore(t testing.TB, opts ...dynamo.Option) *dynamo.Store {
	t.Helper()
	requireLocal(t)
	st, err := dynamo.New(local.client, testTable, append([]dynamo.Option{dynamo.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st
}
