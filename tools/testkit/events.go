package testkit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Event reads the captured API Gateway HTTP API (payload 2.0) request
// testdata/apigw/<name> of the repository.
func Event(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatalf("testkit: repository root: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "apigw", name))
	if err != nil {
		t.Fatalf("testkit: read event: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("testkit: decode event %s: %v", name, err)
	}
	return ev
}

// EventJSON is Event edited by edit (when not nil), encoded as the payload a
// Lambda function receives.
func EventJSON(t testing.TB, name string, edit func(*events.APIGatewayV2HTTPRequest)) []byte {
	t.Helper()
	ev := Event(t, name)
	if edit != nil {
		edit(&ev)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("testkit: encode event %s: %v", name, err)
	}
	return out
}
