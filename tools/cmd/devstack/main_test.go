package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestStackFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		edit func(*stack.Config) // applied to DefaultConfig("/r") for the want
	}{
		{"defaults", nil, []string{"-root", "/r"}, func(*stack.Config) {}},
		{
			"environment",
			map[string]string{
				"PUSHPIN_PORT": "8999", "DYNAMODB_PORT": "8001", "API_KEYS": "a,b", "ADMIN_KEY": "adm", "GRIP_SIG_KEY": "sig",
				"ROOMS": "x:X", "LINK_TIMEOUT": "5", "UNRELATED": "no",
			},
			[]string{"-root", "/r"},
			func(c *stack.Config) {
				c.PushpinPort, c.DynamoPort, c.APIKeys, c.AdminKey, c.SigKey = 8999, 8001, "a,b", "adm", "sig"
				c.Env = map[string]string{"ROOMS": "x:X", "LINK_TIMEOUT": "5"}
			},
		},
		{
			"flags over environment",
			map[string]string{"PUSHPIN_PORT": "8999", "API_PORT": "not a number"},
			[]string{"-root", "/r", "-pushpin-port", "9000", "-state", "", "-env-vars", "", "-template", "/t.yaml", "-edge-port", "4001"},
			func(c *stack.Config) {
				c.PushpinPort, c.EdgePort, c.StateDir, c.EnvVarsFile, c.Template = 9000, 4001, "", "", "/t.yaml"
			},
		},
		{
			"explicit paths under another root",
			nil,
			[]string{"-root", "/r", "-state", "/s", "-env-vars", "/e.json"},
			func(c *stack.Config) { c.StateDir, c.EnvVarsFile = "/s", "/e.json" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			finish := stackFlags(fs, env(tt.env))
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := finish()
			if err != nil {
				t.Fatal(err)
			}
			want := stack.DefaultConfig("/r")
			tt.edit(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

// TestResolveRoot: -root wins, then the checkout holding -template, then the
// one holding the working directory.
func TestResolveRoot(t *testing.T) {
	t.Parallel()
	cwdRoot, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(other, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	bare := t.TempDir()
	tests := []struct {
		name, root, template, want string
	}{
		{"root flag", "/somewhere/checkout", filepath.Join(other, "template.yaml"), "/somewhere/checkout"},
		{"template in a checkout", "", filepath.Join(other, "template.yaml"), other},
		{"template below a checkout's root", "", filepath.Join(other, "deploy", "template.yaml"), other},
		{"template outside any checkout", "", filepath.Join(bare, "template.yaml"), cwdRoot},
		{"neither", "", "", cwdRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolveRoot(tt.root, tt.template)
			if err != nil || got != tt.want {
				t.Errorf("resolveRoot(%q, %q) = %q, %v; want %q", tt.root, tt.template, got, err, tt.want)
			}
		})
	}
}

// TestResolveRootOutsideCheckout: with nothing to go on outside a
// checkout, the error says what to give. Not parallel: it changes the
// working directory.
func TestResolveRootOutsideCheckout(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := resolveRoot("", "")
	if err == nil || !strings.Contains(err.Error(), "give -root") {
		t.Fatalf("resolveRoot outside a checkout: %v, want an error asking for -root", err)
	}
}

func TestLogicalID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"send", "SendFunction"},
		{"web", "WebFunction"},
		{"StreamFunction", "StreamFunction"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := logicalID(tt.in); got != tt.want {
				t.Errorf("logicalID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestInvokeUsage(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"invoke", "-fn", "send"}, env(nil), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Fatalf("invoke without -event: %v, want errUsage", err)
	}
}

// TestSAMLocalWriteEnv: the env-vars file for `sam local start-api` points
// the containers at this machine through the Docker host name and carries
// the settings of devstack's environment.
func TestSAMLocalWriteEnv(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	var out bytes.Buffer
	err := run(t.Context(), []string{"sam-local", "-write-env", "-state", state, "-env-vars", "", "-docker-host", "dockerhost"},
		env(map[string]string{"ROOMS": "sam-room:Sam", "API_KEYS": "sam-key"}), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state, "sam-env.json")
	if !strings.Contains(out.String(), path) {
		t.Errorf("output %q does not name %s", out.String(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var envs map[string]map[string]string
	if err := json.Unmarshal(b, &envs); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ fn, name, want string }{
		{"SendFunction", "GRIP_URL", "http://dockerhost:5561"},
		{"SendFunction", "API_KEYS", "sam-key"},
		{"HistoryFunction", "DYNAMODB_ENDPOINT", "http://dockerhost:8000"},
		{"WebFunction", "ROOMS", "sam-room:Sam"},
		{"StreamFunction", "ROOMS", "sam-room:Sam"},
	}
	for _, c := range checks {
		if got := envs[c.fn][c.name]; got != c.want {
			t.Errorf("%s %s = %q, want %q", c.fn, c.name, got, c.want)
		}
	}
	if strings.Contains(string(b), "127.0.0.1") {
		t.Errorf("env file still points at 127.0.0.1:\n%s", b)
	}
}

// requireTools fails when a tool of the stack is missing, and skips under
// -short (unit tests only).
func requireTools(t *testing.T) {
	t.Helper()
	testkit.Require(t, testkit.Pushpin, testkit.DynamoDBLocal, testkit.RIE)
}

// TestInvoke builds the history function's bootstrap, runs it under the
// Lambda RIE with the stack's environment and a captured event, and prints
// the answer, like `sam local invoke`. GET /rooms needs no database.
func TestInvoke(t *testing.T) {
	requireTools(t)
	root, err := proc.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var out, logs bytes.Buffer
	err = run(t.Context(), []string{"invoke", "-fn", "history", "-event", filepath.Join(root, "testdata", "apigw", "history-rooms.json"),
		"-state", t.TempDir(), "-env-vars", ""}, env(map[string]string{"ROOMS": "invoked-room:Invoked Room"}), &out, &logs)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, logs.String())
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		t.Fatalf("output is not a response: %v\n%s", err, out.String())
	}
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"invoked-room"`) {
		t.Errorf("response %d %s, want 200 listing invoked-room", resp.StatusCode, resp.Body)
	}
}

// freePorts returns the flags putting every part of the stack on a free
// port, in memory.
func freePorts(t *testing.T) []string {
	t.Helper()
	args := []string{"-state", "", "-env-vars", ""}
	flags := []string{"-pushpin-port", "-publish-port", "-api-port", "-edge-port", "-dynamo-port"}
	ports, err := proc.FreePorts(len(flags))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range flags {
		args = append(args, f, strconv.Itoa(ports[i]))
	}
	return args
}

// TestUpStopsOnSignal: the command serves, prints the banner with the
// keys, and on the signal (ctx ending) stops everything and returns nil.
func TestUpStopsOnSignal(t *testing.T) {
	requireTools(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, logs testkit.LockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, freePorts(t), env(map[string]string{"API_KEYS": "banner-key"}), &out, &logs)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops everything") {
		select {
		case err := <-done:
			t.Fatalf("returned before serving: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "banner-key") {
		t.Errorf("banner does not show the API key:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("did not stop")
	}
	if !strings.Contains(out.String(), "devstack: stopped") {
		t.Errorf("no stop message:\n%s", out.String())
	}
}

// TestUpPortTaken: a taken port is named, with what it is for, and
// nothing starts.
func TestUpPortTaken(t *testing.T) {
	requireTools(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	args := append(freePorts(t), "-api-port", port)
	err = run(t.Context(), args, env(nil), io.Discard, io.Discard)
	if !errors.Is(err, stack.ErrPortTaken) || !strings.Contains(err.Error(), port) || !strings.Contains(err.Error(), "API emulator") {
		t.Fatalf("err = %v, want it to name port %s (API emulator)", err, port)
	}
}
