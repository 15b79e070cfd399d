// Command devstack runs the whole chat on one machine without Docker
// (`make dev`): DynamoDB Local, the functions behind an API Gateway HTTP API
// emulator driven by template.yaml, a stand-in for the sign-in edge and
// Pushpin in front, serving http://localhost:7999. The stack itself is
// tools/stack; this command parses flags and the environment, prints
// where everything is, and stops it all on Ctrl-C.
//
//	devstack [flags]                   the stack (Ctrl-C stops everything)
//	devstack invoke -fn send -event e.json
//	                                   one function's bootstrap under the Lambda RIE, like `sam local invoke`
//	devstack sam-local [flags]         DynamoDB Local, edge and Pushpin around `sam local start-api`
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
	"strconv"
	"syscall"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

// run dispatches the subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "invoke":
			return runInvoke(ctx, args[1:], getenv, stdout, stderr)
		case "sam-local":
			return runSAMLocal(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	return runUp(ctx, args, getenv, stdout, stderr)
}

// functionVars are the chat settings that, set in devstack's own
// environment, reach every function that declares them (stack.Config.Env),
// over dev/env.json.
var functionVars = []string{
	config.EnvRooms, config.EnvTableName, config.EnvLinkTimeout,
	config.EnvProfanityFilter, config.EnvLogLevel, config.EnvRetentionDays,
	config.EnvRateLimits,
}

// stackFlags registers the flags shared by the stack commands on fs and
// returns a function that completes the configuration after parsing, from
// stack.DefaultConfig(root), the environment and the flags. The root is
// -root, else the checkout holding -template, else the checkout holding the
// working directory (resolveRoot), so the built command runs from anywhere.
func stackFlags(fs *flag.FlagSet, getenv func(string) string) func() (stack.Config, error) {
	cfg := stack.DefaultConfig("")
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	var root, template, envVars, state string
	fs.StringVar(&root, "root", "", "the repository checkout (template.yaml, dev/env.json, .dev, .cache with DynamoDB Local and the RIE); default: the one holding -template, else the one holding the working directory")
	fs.IntVar(&cfg.PushpinPort, "pushpin-port", envInt("PUSHPIN_PORT", cfg.PushpinPort), "Pushpin's HTTP port: the chat's URL (env PUSHPIN_PORT)")
	fs.IntVar(&cfg.PublishPort, "publish-port", envInt("PUSHPIN_PUBLISH_PORT", cfg.PublishPort), "Pushpin's publish port (env PUSHPIN_PUBLISH_PORT)")
	fs.IntVar(&cfg.APIPort, "api-port", envInt("API_PORT", cfg.APIPort), "the API Gateway emulator's port (env API_PORT)")
	fs.IntVar(&cfg.EdgePort, "edge-port", envInt("EDGE_PORT", cfg.EdgePort), "the edge stand-in's port, Pushpin's origin (env EDGE_PORT)")
	fs.IntVar(&cfg.DynamoPort, "dynamo-port", envInt("DYNAMODB_PORT", cfg.DynamoPort), "DynamoDB Local's port (env DYNAMODB_PORT)")
	fs.StringVar(&template, "template", "", "the SAM template (default <root>/template.yaml)")
	fs.StringVar(&envVars, "env-vars", "", "local environment overrides, in `sam local --env-vars` format (default <root>/dev/env.json; empty: none)")
	fs.StringVar(&state, "state", "", "where DynamoDB data, Pushpin's run directory and builds live, locked by one stack at a time (default <root>/.dev; empty: in memory and temporary)")
	return func() (stack.Config, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		r, err := resolveRoot(root, template)
		if err != nil {
			return stack.Config{}, err
		}
		def := stack.DefaultConfig(r)
		cfg.Root, cfg.Template, cfg.EnvVarsFile, cfg.StateDir = r, def.Template, def.EnvVarsFile, def.StateDir
		if set["template"] {
			cfg.Template = template
		}
		if set["env-vars"] {
			cfg.EnvVarsFile = envVars
		}
		if set["state"] {
			cfg.StateDir = state
		}
		envOr := func(name, def string) string {
			if v := getenv(name); v != "" {
				return v
			}
			return def
		}
		cfg.APIKeys = envOr("API_KEYS", cfg.APIKeys)
		cfg.AdminKey = envOr("ADMIN_KEY", cfg.AdminKey)
		cfg.SigKey = envOr("GRIP_SIG_KEY", cfg.SigKey)
		for _, name := range functionVars {
			if v := getenv(name); v != "" {
				if cfg.Env == nil {
					cfg.Env = map[string]string{}
				}
				cfg.Env[name] = v
			}
		}
		return cfg, nil
	}
}

// resolveRoot returns the repository checkout: root when given, else the
// checkout holding the template when one is given and lies in one, else
// the checkout holding the working directory.
func resolveRoot(root, template string) (string, error) {
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", fmt.Errorf("devstack: -root %s: %w", root, err)
		}
		return abs, nil
	}
	if template != "" {
		if r, err := proc.FindRoot(filepath.Dir(template)); err == nil {
			return r, nil
		}
	}
	r, err := proc.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("devstack: cannot find the repository checkout: give -root (or a -template inside it): %w", err)
	}
	return r, nil
}

// runUp runs the stack until ctx ends.
func runUp(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := stackFlags(fs, getenv)
	bootstrap := fs.Bool("bootstrap", false, "run each function's real bootstrap under the Lambda RIE instead of in-process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	cfg.Bootstrap = *bootstrap
	cfg.Log = stderr
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, s)
	select {
	case <-ctx.Done():
	case <-s.Failed():
		// A child kept dying: say which and why, stop the rest, fail.
		fmt.Fprintf(stdout, "devstack: %v\ndevstack: stopping\n", s.Err())
		if err := s.Stop(); err != nil {
			return errors.Join(s.Err(), err)
		}
		return s.Err()
	}
	fmt.Fprintln(stdout, "devstack: stopping")
	if err := s.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "devstack: stopped")
	return nil
}

func printBanner(w io.Writer, s *stack.Stack) {
	cfg := s.Config()
	mode := "in-process"
	if cfg.Bootstrap {
		mode = "bootstrap under the Lambda RIE"
	}
	if cfg.ExternalAPI != "" {
		mode = "sam local start-api at " + cfg.ExternalAPI
	}
	fmt.Fprintf(w, `
  chat        %s   (sign in with any name; local stand-in, not the real edge)
  API key     %s   (x-api-key; API_KEYS to change)
  admin key   %s   (ADMIN_KEY to change)
  functions   %s
  API         %s   (API Gateway emulator, no identity)
  DynamoDB    %s   (table %s)
  publish     %s

  Ctrl-C stops everything.

`, s.URL(), s.APIKey(), s.AdminKey(), mode, s.APIURL(), s.DynamoEndpoint(), s.TableName(), s.PublishURL())
}

// errUsage is returned for a command line that cannot be run.
var errUsage = errors.New("devstack: usage")
