package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/internal/wire/history"
	"github.com/fanout-chat/serverless-chat/internal/wire/send"
	"github.com/fanout-chat/serverless-chat/internal/wire/stream"
	"github.com/fanout-chat/serverless-chat/internal/wire/web"
	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Builders returns the constructor of each function, keyed by its logical
// id in template.yaml: the New of its package under internal/wire, which its
// Lambda main calls too. The list of functions is the template's; this only
// says which Go constructor serves each (a test checks they cover it).
func Builders() map[string]wire.Builder {
	return map[string]wire.Builder{
		"SendFunction":    send.New,
		"HistoryFunction": history.New,
		"StreamFunction":  stream.New,
		"WebFunction":     web.New,
	}
}

// functions returns the Function of every template function: its handler
// built in-process from its environment by Builders, or its real bootstrap
// under the Lambda RIE.
func (s *Stack) functions(ctx context.Context, bootstrap bool) (map[string]apigw.Function, error) {
	if !bootstrap {
		return s.inProcess(ctx)
	}
	fns := map[string]apigw.Function{}
	for _, id := range s.tmpl.FunctionIDs() {
		outDir, err := s.buildDir(id)
		if err != nil {
			return nil, err
		}
		bin, err := proc.BuildBootstrapIn(ctx, s.cfg.Root, FunctionPackage(id), outDir)
		if err != nil {
			return nil, fmt.Errorf("stack: build %s: %w", id, err)
		}
		part := "rie:" + id
		rie, err := proc.StartRIE(ctx, proc.RIEConfig{
			Bootstrap: bin, Env: EnvList(s.envs[id]), Log: s.logs.Part(part), Root: s.cfg.Root,
			OnExit: s.super.onExit(part),
		})
		if err != nil {
			return nil, fmt.Errorf("stack: start %s under the RIE: %w", id, err)
		}
		s.ries = append(s.ries, rie)
		s.super.add(part, rie, nil)
		s.log.Info("function under the RIE", "function", id, "invoke", rie.InvokeURL(), "pid", rie.Pid())
		fns[id] = apigw.Remote(rie.InvokeURL(), &http.Client{})
	}
	return fns, nil
}

// inProcess builds every function's handler with the constructor its main
// calls, logging to the stack's "functions" log.
func (s *Stack) inProcess(ctx context.Context) (map[string]apigw.Function, error) {
	builders := Builders()
	fns := map[string]apigw.Function{}
	for _, id := range s.tmpl.FunctionIDs() {
		build, ok := builders[id]
		if !ok {
			return nil, fmt.Errorf("stack: no in-process constructor for %s (add it to Builders, or use Bootstrap)", id)
		}
		env := s.envs[id]
		// Each function logs at its own LOG_LEVEL, as Lambda applies the
		// template's ApplicationLogLevel.
		var level slog.Level
		if v := env["LOG_LEVEL"]; v != "" {
			if err := level.UnmarshalText([]byte(v)); err != nil {
				return nil, fmt.Errorf("stack: %s: LOG_LEVEL %q is not one of debug, info, warn, error", id, v)
			}
		}
		logger := slog.New(slog.NewJSONHandler(s.logs.Part("functions"), &slog.HandlerOptions{Level: level}))
		h, err := build(ctx, func(k string) string { return env[k] }, logger)
		if err != nil {
			return nil, fmt.Errorf("stack: build %s: %w", id, err)
		}
		fns[id] = apigw.InProcess(h)
	}
	return fns, nil
}

// buildDir is where a function's bootstrap is built.
func (s *Stack) buildDir(id string) (string, error) {
	if s.cfg.StateDir != "" {
		return filepath.Join(s.cfg.StateDir, "build", id), nil
	}
	return s.tempDir("devstack-" + id + "-")
}
