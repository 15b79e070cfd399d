package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// Keys of the test stack.
const (
	apiKey   = "it-api-key"
	apiKey2  = "it-api-key-2"
	adminKey = "it-admin-key"
	sigKey   = "it-grip-sig-key"
)

// sendLimitForTests is RATE_LIMITS of the stack: sends nearly unlimited;
// edits 5 at once and then one per 12 minutes, so the abuse-limit test's
// sixth edit is refused however slowly the machine runs the first five;
// the other actions at their defaults.
const sendLimitForTests = "send=60000/1m/10000,edit=5/1h"

// roomCount is how many rooms the stack is configured with. Each test takes
// fresh ones, so `-count=N` needs N times what one run takes (about 20).
const roomCount = 300

// testEnv is the stack every test of the package shares, with what the
// tests need to reach it.
type testEnv struct {
	stack *stack.Stack
	// publish sits between the send function and Pushpin's publish port.
	publish *publishProxy
	// rooms are the configured room slugs; next is the index of the next
	// unused one.
	rooms []string
	names map[string]string // slug → display name
	next  atomic.Int64
	logs  *testkit.LockedBuffer
	// client makes every request but the held streams.
	client *http.Client
}

// env is set once by TestMain before any test runs and never changed; it is
// nil under -short.
var env *testEnv

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	// Only what the stack needs: not Chromium or the Lambda RIE.
	for _, tool := range []func() (string, error){proc.PushpinPath, proc.JavaPath, proc.DynamoDBLocalDir} {
		if _, err := tool(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: tools missing (run make deps): %v\n", err)
			return 1
		}
	}
	e, stop, err := startEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: start the stack: %v\n", err)
		if e != nil {
			fmt.Fprintf(os.Stderr, "stack logs (tail):\n%s\n", tail(e.logs.String(), 8000))
		}
		return 1
	}
	env = e
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "integration: stack logs (tail):\n%s\n", tail(e.logs.String(), 12000))
	}
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: stop the stack: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// startEnv starts the publish proxy and one stack on free ports with
// DynamoDB in memory, and returns a function that stops both.
func startEnv() (*testEnv, func() error, error) {
	e := &testEnv{logs: &testkit.LockedBuffer{}, client: newHTTPClient(), names: map[string]string{}}
	root, err := proc.RepoRoot()
	if err != nil {
		return e, nil, err
	}
	run := make([]byte, 4)
	if _, err := rand.Read(run); err != nil {
		return e, nil, fmt.Errorf("random run id: %w", err)
	}
	specs := make([]string, roomCount)
	for i := range specs {
		slug := fmt.Sprintf("it-%s-%d", hex.EncodeToString(run), i+1)
		e.rooms = append(e.rooms, slug)
		e.names[slug] = fmt.Sprintf("Integration room %d", i+1)
		specs[i] = slug + ":" + e.names[slug]
	}

	e.publish, err = startPublishProxy()
	if err != nil {
		return e, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.stack, err = stack.Start(ctx, stack.Config{
		Root:     root,
		Template: filepath.Join(root, "template.yaml"),
		APIKeys:  apiKey + "," + apiKey2,
		AdminKey: adminKey,
		SigKey:   sigKey,
		Env: map[string]string{
			"ROOMS":    strings.Join(specs, ","),
			"GRIP_URL": e.publish.URL(),
			// Senders race here by the hundred; edits and reactions keep
			// the default limits, which the abuse-limit tests reach.
			"RATE_LIMITS": sendLimitForTests,
		},
		Log: e.logs,
	})
	if err != nil {
		_ = e.publish.Close()
		return e, nil, err
	}
	e.publish.SetTarget(e.stack.PublishURL())
	stop := func() error {
		err := e.stack.Stop()
		if cerr := e.publish.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return e, stop, nil
}

// stackFor returns the shared stack, skipping the test under -short.
func stackFor(t *testing.T) *testEnv {
	t.Helper()
	testkit.Require(t, testkit.Pushpin, testkit.DynamoDBLocal)
	if env == nil {
		t.Fatal("the stack is not running (TestMain did not start it)")
	}
	return env
}

// room returns a room no other test has used in this process.
func (e *testEnv) room(t *testing.T) string {
	t.Helper()
	i := e.next.Add(1) - 1
	if int(i) >= len(e.rooms) {
		t.Fatalf("all %d rooms are used: raise roomCount or lower -count", len(e.rooms))
	}
	return e.rooms[i]
}

// uniqueUser returns a user name no other test uses, so clearing a user
// everywhere touches only this test's rooms.
func uniqueUser(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
