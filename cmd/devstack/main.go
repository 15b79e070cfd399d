// Command devstack runs the whole chat on one machine without Docker
// (`make dev`): DynamoDB Local, the functions behind an API Gateway HTTP API
// emulator driven by template.yaml, a stand-in for the sign-in edge and
// Pushpin in front, serving http://localhost:7999.
//
//	devstack [flags]                   the stack (Ctrl-C stops everything)
//	devstack invoke -fn send -event e.json
//	                                   one function's bootstrap under the Lambda RIE, like `sam local invoke`
//	devstack sam-local [flags]         DynamoDB Local, edge and Pushpin around `sam local start-api`
//
// Requests flow browser → Pushpin :7999 → edge stand-in :3001 → API
// emulator :3000 → function, as in production browser → edge → Fanout →
// API Gateway → Lambda, except that locally Pushpin sits in front of the
// edge: Pushpin must own :7999, and the edge only adds headers, so the
// order of the two does not change what the functions see, and Pushpin's
// Grip-Sig passes the edge untouched.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fanout-chat/serverless-chat/internal/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

// run dispatches the subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "invoke":
			return runInvoke(ctx, args[1:], stdout, stderr)
		case "sam-local":
			return runSAMLocal(ctx, args[1:], stdout, stderr)
		}
	}
	return runUp(ctx, args, stdout, stderr)
}

// stackFlags registers the flags shared by the stack commands and returns a
// function that completes the configuration after parsing.
func stackFlags(fs *flag.FlagSet, root string) func() stackConfig {
	cfg := stackConfig{Root: root}
	fs.IntVar(&cfg.PushpinPort, "pushpin-port", envInt("PUSHPIN_PORT", 7999), "Pushpin's HTTP port: the chat's URL (env PUSHPIN_PORT)")
	fs.IntVar(&cfg.PublishPort, "publish-port", envInt("PUSHPIN_PUBLISH_PORT", 5561), "Pushpin's publish port (env PUSHPIN_PUBLISH_PORT)")
	fs.IntVar(&cfg.APIPort, "api-port", envInt("API_PORT", 3000), "the API Gateway emulator's port (env API_PORT)")
	fs.IntVar(&cfg.EdgePort, "edge-port", envInt("EDGE_PORT", 3001), "the edge stand-in's port, Pushpin's origin (env EDGE_PORT)")
	fs.IntVar(&cfg.DynamoPort, "dynamo-port", envInt("DYNAMODB_PORT", 8000), "DynamoDB Local's port (env DYNAMODB_PORT)")
	fs.StringVar(&cfg.Template, "template", filepath.Join(root, "template.yaml"), "the SAM template")
	fs.StringVar(&cfg.EnvVarsFile, "env-vars", filepath.Join(root, "dev", "env.json"), "local environment overrides, in `sam local --env-vars` format")
	fs.StringVar(&cfg.StateDir, "state", filepath.Join(root, ".dev"), "where DynamoDB data, Pushpin's run directory and builds live; empty: in memory and temporary")
	return func() stackConfig {
		cfg.APIKeys = envOr("API_KEYS", defaultAPIKey)
		cfg.AdminKey = envOr("ADMIN_KEY", defaultAdminKey)
		cfg.SigKey = envOr("GRIP_SIG_KEY", defaultSigKey)
		return cfg
	}
}

// runUp runs the stack until ctx ends.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := stackFlags(fs, root)
	bootstrap := fs.Bool("bootstrap", false, "run each function's real bootstrap under the Lambda RIE instead of in-process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := finish()
	cfg.Bootstrap = *bootstrap
	cfg.Log = stderr
	s, err := startStack(ctx, cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, s)
	<-ctx.Done()
	fmt.Fprintln(stdout, "devstack: stopping")
	if err := s.stop(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "devstack: stopped")
	return nil
}

func printBanner(w io.Writer, s *stack) {
	mode := "in-process"
	if s.cfg.Bootstrap {
		mode = "bootstrap under the Lambda RIE"
	}
	if s.cfg.ExternalAPI != "" {
		mode = "sam local start-api at " + s.cfg.ExternalAPI
	}
	fmt.Fprintf(w, `
  chat        %s   (sign in with any name; local stand-in, not the real edge)
  API key     %s   (x-api-key; API_KEYS to change)
  admin key   %s   (ADMIN_KEY to change)
  functions   %s
  API         http://127.0.0.1:%d   (API Gateway emulator, no identity)
  DynamoDB    %s   (table %s)
  publish     %s

  Ctrl-C stops everything.

`, s.URL(), firstKey(s.cfg.APIKeys), s.cfg.AdminKey, mode, s.cfg.APIPort, s.dynamo.Endpoint(), s.table, s.pushpin.PublishURL())
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscanf(os.Getenv(name), "%d", &n); err == nil && n > 0 {
		return n
	}
	return def
}

// errUsage is returned for a command line that cannot be run.
var errUsage = errors.New("devstack: usage")
