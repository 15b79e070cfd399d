package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// TestSmokeLocalStack runs the smoke test against the local stack, whose
// front door (Pushpin, then the edge stand-in) stands for the edge with
// Fanout: it passes there, and fails with the right explanation for a wrong
// key and for a URL that bypasses the GRIP proxy.
func TestSmokeLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: starts Pushpin and DynamoDB Local")
	}
	for _, tool := range []func() (string, error){proc.PushpinPath, proc.JavaPath, proc.DynamoDBLocalDir} {
		if _, err := tool(); err != nil {
			t.Skipf("skipped: %v (run make deps)", err)
		}
	}
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LockedBuffer // two stacks write to it at once
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Config{
		Root: root, Template: filepath.Join(root, "template.yaml"),
		APIKeys: "smoke-key", AdminKey: "smoke-admin", SigKey: "smoke-sig", Log: &logs,
	})
	if err != nil {
		t.Fatalf("start the local stack: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = s.Stop() })
	// A generous bound: it only limits how long a failing run waits.
	const wait = time.Minute
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"through the GRIP proxy", Config{URL: s.URL(), Key: s.APIKey(), Timeout: wait}, ""},
		{"wrong key", Config{URL: s.URL(), Key: "not-a-key", Timeout: wait}, "the API key was refused"},
		{"proxy bypassed", Config{URL: s.APIURL(), Key: s.APIKey(), Timeout: wait}, "bypassed the GRIP proxy"},
		{"unknown room", Config{URL: s.URL(), Key: s.APIKey(), Room: "no-such-room", Timeout: wait}, "no such route or room"},
	}
	// A stack whose send function cannot publish (nothing listens at its
	// GRIP_URL) and whose idle streams are re-checked only every 10 minutes:
	// the message is stored but never arrives live within the smoke's wait.
	broken, err := stack.Start(ctx, stack.Config{
		Root: root, Template: filepath.Join(root, "template.yaml"),
		APIKeys: "smoke-key", AdminKey: "smoke-admin", SigKey: "smoke-sig", Log: &logs,
		Env: map[string]string{"GRIP_URL": "http://127.0.0.1:1", "LINK_TIMEOUT": "600"},
	})
	if err != nil {
		t.Fatalf("start the broken stack: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = broken.Stop() })
	tests = append(tests, struct {
		name    string
		cfg     Config
		wantErr string
	}{
		// Settle: Pushpin's first next-link call (about a second after the
		// hold) must be over before the send, or it would deliver the
		// message; 10 s leaves a loaded machine room.
		"publishing broken",
		Config{URL: broken.URL(), Key: broken.APIKey(), Timeout: 15 * time.Second, Settle: 10 * time.Second},
		"publishing to the GRIP proxy fails",
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(ctx, tt.cfg, &out)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("smoke failed: %v\n%s", err, out.String())
			case tt.wantErr == "" && !strings.Contains(out.String(), "all checks passed"):
				t.Errorf("output lacks the success line:\n%s", out.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one saying %q", err, tt.wantErr)
			}
			t.Logf("%s%v", out.String(), err)
		})
	}
}
