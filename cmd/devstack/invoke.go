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

	"github.com/fanout-chat/serverless-chat/internal/apigw"
	"github.com/fanout-chat/serverless-chat/internal/localstack"
)

// runInvoke builds one function's bootstrap, runs it under the Lambda RIE
// with its template environment (pointed at the local stack's default
// ports, so it works beside a running `make dev`), invokes it once with an
// event file and prints the response, like `sam local invoke`.
func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("devstack invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := stackFlags(fs, root)
	fn := fs.String("fn", "", "the function: a short name (send) or a logical id (SendFunction)")
	eventFile := fs.String("event", "", "the event JSON file; - reads standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := finish()
	if *fn == "" || *eventFile == "" {
		fs.Usage()
		return fmt.Errorf("%w: invoke needs -fn and -event", errUsage)
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
		return err
	}
	id := logicalID(*fn)
	if _, ok := tmpl.Functions[id]; !ok {
		return fmt.Errorf("devstack: the template has no function %s (it has %v)", id, tmpl.FunctionIDs())
	}
	fileVars, err := apigw.LoadEnvVars(cfg.EnvVarsFile)
	if err != nil {
		return err
	}
	logs := &logMux{out: stderr}
	log := slog.New(slog.NewJSONHandler(logs.part("devstack"), nil))
	envs := functionEnvs(tmpl, localEnv(cfg, fmt.Sprintf("http://127.0.0.1:%d", cfg.DynamoPort)).Merge(fileVars), log)

	outDir := filepath.Join(cfg.StateDir, "build", id)
	bin, err := localstack.BuildBootstrap(ctx, functionPackage(id), outDir)
	if err != nil {
		return err
	}
	rie, err := localstack.StartRIE(ctx, localstack.RIEConfig{Bootstrap: bin, Env: envList(envs[id]), Log: logs.part("rie:" + id)})
	if err != nil {
		return err
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
