package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// runInvoke builds one function's bootstrap, runs it under the Lambda RIE
// with its template environment (pointed at the local stack's ports, so it
// works beside a running `make dev`), invokes it once with an event file and
// prints the response, like `sam local invoke`.
func runInvoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := stackFlags(fs, getenv)
	fn := fs.String("fn", "", "the function: a short name (send) or a logical id (SendFunction)")
	eventFile := fs.String("event", "", "the event JSON file; - reads standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fn == "" || *eventFile == "" {
		fs.Usage()
		return fmt.Errorf("%w: invoke needs -fn and -event", errUsage)
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	var event []byte
	if *eventFile == "-" {
		event, err = io.ReadAll(os.Stdin)
	} else {
		event, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return fmt.Errorf("devstack: read event: %w", err)
	}
	if !json.Valid(event) {
		return fmt.Errorf("devstack: event %s is not JSON", *eventFile)
	}
	tmpl, err := apigw.LoadTemplate(cfg.Template, nil)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	id := logicalID(*fn)
	if _, ok := tmpl.Functions[id]; !ok {
		return fmt.Errorf("devstack: the template has no function %s (it has %v)", id, tmpl.FunctionIDs())
	}
	logs := stack.NewLogMux(stderr)
	log := slog.New(slog.NewJSONHandler(logs.Part("devstack"), nil))
	envs, err := stack.LambdaEnvironments(cfg, tmpl,
		fmt.Sprintf("http://127.0.0.1:%d", cfg.DynamoPort), fmt.Sprintf("http://127.0.0.1:%d", cfg.PublishPort), log)
	if err != nil {
		return err
	}

	stateDir := cfg.StateDir
	if stateDir == "" {
		if stateDir, err = os.MkdirTemp("", "devstack-invoke-"); err != nil {
			return fmt.Errorf("devstack: build dir: %w", err)
		}
		defer os.RemoveAll(stateDir)
	}
	bin, err := proc.BuildBootstrapIn(ctx, cfg.Root, stack.FunctionPackage(id), filepath.Join(stateDir, "build", id))
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	rie, err := proc.StartRIE(ctx, proc.RIEConfig{Bootstrap: bin, Env: stack.EnvList(envs[id]), Log: logs.Part("rie:" + id), Root: cfg.Root})
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	defer func() {
		if err := rie.Stop(); err != nil {
			log.Error("stop RIE", "err", err)
		}
	}()
	out, err := rie.Invoke(ctx, event)
	if err != nil {
		return fmt.Errorf("devstack: invoke %s: %w", id, err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// logicalID returns the logical id of a function given by short name
// ("send") or by logical id ("SendFunction").
func logicalID(name string) string {
	if strings.HasSuffix(name, "Function") {
		return name
	}
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:] + "Function"
}
