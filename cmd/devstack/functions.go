package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/fanout-chat/serverless-chat/internal/app"
	"github.com/fanout-chat/serverless-chat/internal/webui"
)

// builder builds one function's handler from its environment, as the
// function's main does from os.Getenv.
type builder func(ctx context.Context, getenv func(string) string) (http.Handler, error)

// builders maps the template's logical ids to the constructors the
// functions' mains call, for in-process mode. A function of the template
// that is missing here can still run in -bootstrap mode.
func builders() map[string]builder {
	out := map[string]builder{}
	for id, b := range app.Builders() {
		out[id] = builder(b)
	}
	out["WebFunction"] = func(_ context.Context, getenv func(string) string) (http.Handler, error) {
		return webui.NewFromEnv(getenv)
	}
	return out
}

// functionPackage returns the Go package of a function for -bootstrap mode
// and `invoke`: "SendFunction" is ./functions/send, as the Makefile's
// build-SendFunction target builds it.
func functionPackage(logicalID string) string {
	return "./functions/" + strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
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
