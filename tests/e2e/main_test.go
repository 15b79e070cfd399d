package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// suite is the stack and the browser every test of the package shares,
// started once by TestMain. Tests keep apart by using their own room and
// their own browser contexts.
var suite struct {
	stack   *testStack
	browser context.Context
	// runs is how many times each test runs in this process (-count): the
	// stack has fresh rooms for each run.
	runs int
	// names hands out the fresh names of each run (freshName).
	names names
	// skip, when set, is why the stack and browser were not started: every
	// test skips with it.
	skip string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		suite.skip = testkit.ShortSkipMessage(testkit.Chromium, testkit.Pushpin, testkit.DynamoDBLocal)
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suite.runs = 1
	if f := flag.Lookup("test.count"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n > 1 {
			suite.runs = n
		}
	}
	st, err := startStack(ctx, suite.runs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start the local stack: %v\n", err)
		return 1
	}
	defer st.stop()
	// The browser outlives ctx's start-up deadline: it runs until m.Run ends.
	browser, stop, err := startBrowser(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer stop()
	suite.stack, suite.browser = st, browser
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: stack logs (tail):\n%s\n", tail(st.logs.String(), 8000))
	}
	return code
}

// requireSuite skips t when the stack and browser were not started
// (-short). Every test of the package starts with it.
func requireSuite(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
