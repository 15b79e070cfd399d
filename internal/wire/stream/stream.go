// Package stream builds the stream function's handler: the Grip-Sig
// verifier, the store, a read-only chat service and, with somewhere to
// publish, presence (chat.Live) behind the stream handler. It never renders
// messages, so it links no markdown or profanity code.
// functions/stream and the local stack both call New.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	streamhandler "github.com/fanout-chat/serverless-chat/internal/handler/stream"
	"github.com/fanout-chat/serverless-chat/internal/wire"
)

var _ wire.Builder = New

// New builds the stream function's handler from the environment.
func New(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := wire.LoadConfig(getenv, config.Config.RequireStream)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	vc, err := grip.VerifierConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	verifier, err := grip.NewVerifier(vc)
	if err != nil {
		return nil, fmt.Errorf("stream function: %s: %w", config.EnvGripVerifyKey, err)
	}
	client, err := wire.NewDynamoClient(ctx, cfg.DynamoEndpoint)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	store, err := wire.NewStoreOn(client, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	svc, err := chat.NewService(store, nil, cfg.Rooms, chat.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	so := holdOptions(cfg)
	// With somewhere to publish, streams that ask for live events keep
	// presence; without, every stream is the reliable hold alone.
	pc, err := grip.PublishConfigFromEnv(getenv)
	switch {
	case errors.Is(err, config.ErrMissing):
	case err != nil:
		return nil, fmt.Errorf("stream function: %w", err)
	default:
		if so.Presence, err = newLive(client, cfg, pc, log); err != nil {
			return nil, fmt.Errorf("stream function: %w", err)
		}
	}
	return streamhandler.New(svc, verifier, so, handler.WithLogger(log)), nil
}

// holdOptions are the stream handler's options that the configuration sets.
func holdOptions(cfg config.Config) streamhandler.Options {
	return streamhandler.Options{LinkTimeout: cfg.LinkTimeout, KeepAlive: cfg.KeepAlive, RetryJitter: cfg.ReconnectSpread}
}

// newLive builds the presence side of the stream function: presence items
// in the chat table, live events published to the GRIP proxy.
func newLive(client *dynamodb.Client, cfg config.Config, pc grip.PublishConfig, log *slog.Logger) (*chat.Live, error) {
	presence, err := dynamo.NewPresence(client, cfg.TableName)
	if err != nil {
		return nil, err
	}
	pub, err := grip.NewPublisher(pc, grip.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return chat.NewLive(pub, cfg.Rooms, chat.WithPresence(presence, cfg.PresenceTTL), chat.WithLiveLogger(log))
}
