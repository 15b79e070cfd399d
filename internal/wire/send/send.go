// Package send builds the send function's handler: the store, the per-user
// rate limiter, the GRIP publisher (messages, and typing signals on the
// room's live channel), the renderer (markdown, sanitising,
// profanity) and the chat service behind handler.NewSendHandler. functions/send and the local stack
// both call New.
package send

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/internal/render"
	"github.com/fanout-chat/serverless-chat/internal/wire"
)

var _ wire.Builder = New

// New builds the send function's handler from the environment.
func New(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := wire.LoadConfig(getenv, config.Config.RequireSend)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	pc, err := grip.PublishConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	// Only send writes under a rate limit, so only send reads RATE_LIMITS.
	rules, err := limit.ParseRules(strings.TrimSpace(getenv(config.EnvRateLimits)))
	if err != nil {
		return nil, fmt.Errorf("send function: config: %s: %w", config.EnvRateLimits, err)
	}
	client, err := wire.NewDynamoClient(ctx, cfg.DynamoEndpoint)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	store, err := wire.NewStoreOn(client, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	lim, err := limit.New(client, cfg.TableName, rules, limit.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	pub, err := grip.NewPublisher(pc, grip.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	svc, err := chat.NewService(store, pub, cfg.Rooms, chat.WithLogger(log), chat.WithRenderer(render.New(cfg.ProfanityFilter)))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	live, err := chat.NewLive(pub, cfg.Rooms, chat.WithLiveLogger(log))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	return handler.NewSendHandler(svc, handler.Auth{APIKeys: cfg.APIKeys, AdminKey: cfg.AdminKey},
		handler.WithLogger(log), handler.WithLimiter(lim), handler.WithTyping(live)), nil
}
