package testkit

import (
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Tool is a real component a test starts, and how to find it.
type Tool struct {
	// Name is what a skip or failure message calls it.
	Name string
	// Find returns an error naming what is missing.
	Find func() error
}

// The real components tests start. make deps (scripts/deps.sh) installs
// every one of them.
var (
	Pushpin       = Tool{Name: "Pushpin", Find: func() error { _, err := proc.PushpinPath(); return err }}
	DynamoDBLocal = Tool{Name: "DynamoDB Local (Java)", Find: findDynamoDBLocal}
	RIE           = Tool{Name: "the Lambda runtime interface emulator", Find: func() error { _, err := proc.RIEPath(); return err }}
	Chromium      = Tool{Name: "Chromium", Find: func() error { _, err := proc.ChromiumPath(); return err }}
)

func findDynamoDBLocal() error {
	if _, err := proc.JavaPath(); err != nil {
		return err
	}
	_, err := proc.DynamoDBLocalDir()
	return err
}

// Require makes t run only with the real components it starts. Under
// -short (unit tests only) it skips t with a message naming them. Otherwise
// a missing one fails t: make test installs them all, so there a skip
// would hide a test that never ran (scripts/gotest.sh fails a run that
// skips without -short for the same reason).
func Require(t testing.TB, tools ...Tool) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s, which -short does not start", names(tools))
	}
	var missing []string
	for _, tool := range tools {
		if err := tool.Find(); err != nil {
			missing = append(missing, tool.Name+": "+err.Error())
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing (make deps installs them):\n%s", strings.Join(missing, "\n"))
	}
}

// ShortSkipMessage is the message of Require's skip, for a TestMain that
// does not start a package's shared components under -short and has its
// tests skip with this message.
func ShortSkipMessage(tools ...Tool) string {
	return "needs " + names(tools) + ", which -short does not start"
}

func names(tools []Tool) string {
	n := make([]string, len(tools))
	for i, tool := range tools {
		n[i] = tool.Name
	}
	switch len(n) {
	case 0:
		return "nothing"
	case 1:
		return n[0]
	}
	return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
}
