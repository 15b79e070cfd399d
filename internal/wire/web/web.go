// Package web builds the web function's handler: the pages and static assets
// of internal/webui. It needs neither DynamoDB nor GRIP and links neither.
// functions/web and the local stack both call New.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fanout-chat/serverless-chat/internal/webui"
)

// New builds the web function's handler from the environment. It has the
// signature of wire.Builder without importing package wire, which links the
// DynamoDB client.
func New(_ context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	h, err := webui.NewFromEnv(getenv, webui.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("web function: %w", err)
	}
	return h, nil
}
