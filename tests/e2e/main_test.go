package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// suite is the stack and the browser every test of the package shares,
// started once by TestMain. Tests keep apart by using their own room and
// their own browser contexts.
var suite struct {
	stack   *testStack
	browser context.Context
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := startStack(ctx)
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
