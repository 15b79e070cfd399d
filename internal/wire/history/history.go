// Package history builds the history function's handler: the store and a
// read-only chat service behind handler.NewHistoryHandler. It needs no GRIP
// setting and links no GRIP, JWT or rendering code. functions/history and the
// local stack both call New.
package history

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/wire"
)

var _ wire.Builder = New

// New builds the history function's handler from the environment.
func New(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := wire.LoadConfig(getenv, config.Config.RequireHistory)
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	store, err := wire.NewStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	svc, err := chat.NewService(store, nil, cfg.Rooms, chat.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	return handler.NewHistoryHandler(svc, handler.WithLogger(log)), nil
}
