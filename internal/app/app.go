// Package app builds each Lambda function's HTTP handler from the
// environment: configuration, the DynamoDB client, the store, the GRIP
// publisher or verifier, the chat service and the handler. The Lambda mains
// and the local API Gateway emulator both call it, so the emulator serves
// exactly the handler that is deployed.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/limit"
	"github.com/fanout-chat/serverless-chat/internal/webui"
)

// Builder builds one function's handler from the environment (getenv is
// os.Getenv in Lambda) with the logger its handlers log to. It fails, with an
// error naming the variable, when configuration is missing or malformed.
type Builder func(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error)

// Builders returns the builder of each function this package wires, keyed
// by its logical id in template.yaml.
func Builders() map[string]Builder {
	return map[string]Builder{
		"SendFunction":    NewSend,
		"HistoryFunction": NewHistory,
		"StreamFunction":  NewStream,
		"WebFunction":     NewWeb,
	}
}

// NewWeb builds the web function's handler: the pages and static assets of
// internal/webui. It needs neither DynamoDB nor GRIP.
func NewWeb(_ context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	h, err := webui.NewFromEnv(getenv, webui.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("web function: %w", err)
	}
	return h, nil
}

// NewSend builds the send function's handler.
func NewSend(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := load(getenv, config.Config.RequireSend)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	client, err := NewDynamoClient(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	store, err := newStoreOn(client, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	lim, err := limit.New(client, cfg.TableName, cfg.RateLimits, limit.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	pub, err := grip.NewPublisher(cfg.Publish, grip.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("send function: %w", err)
	}
	svc, err := chat.NewService(store, pub, cfg.Rooms, chat.WithLogger(log), chat.WithProfanityFilter(cfg.ProfanityFilter))
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

// NewHistory builds the history function's handler. It needs no GRIP
// setting.
func NewHistory(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := load(getenv, config.Config.RequireHistory)
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	store, err := newStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	svc, err := chat.NewService(store, nil, cfg.Rooms, chat.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("history function: %w", err)
	}
	return handler.NewHistoryHandler(svc, handler.WithLogger(log)), nil
}

// NewStream builds the stream function's handler. It verifies Grip-Sig but
// never publishes.
func NewStream(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	cfg, err := load(getenv, config.Config.RequireStream)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	verifier, err := grip.NewVerifier(grip.VerifierConfig{Key: cfg.GripVerifyKey, Issuer: cfg.GripVerifyIss})
	if err != nil {
		return nil, fmt.Errorf("stream function: %s: %w", config.EnvGripVerifyKey, err)
	}
	store, err := newStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	svc, err := chat.NewService(store, nil, cfg.Rooms, chat.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("stream function: %w", err)
	}
	so := handler.StreamOptions{LinkTimeout: cfg.LinkTimeout, KeepAlive: cfg.KeepAlive}
	// With somewhere to publish, streams that ask for live events keep
	// presence; without, every stream is the reliable hold alone.
	if cfg.Publish.ControlURI != "" {
		if so.Presence, err = newLive(ctx, cfg, log); err != nil {
			return nil, fmt.Errorf("stream function: %w", err)
		}
	}
	return handler.NewStreamHandler(svc, verifier, so, handler.WithLogger(log)), nil
}

// newLive builds the presence side of the stream function: presence items
// in the chat table, live events published to the GRIP proxy.
func newLive(ctx context.Context, cfg config.Config, log *slog.Logger) (*chat.Live, error) {
	client, err := NewDynamoClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	presence, err := dynamo.NewPresence(client, cfg.TableName)
	if err != nil {
		return nil, err
	}
	pub, err := grip.NewPublisher(cfg.Publish, grip.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return chat.NewLive(pub, cfg.Rooms, chat.WithPresence(presence, cfg.PresenceTTL), chat.WithLiveLogger(log))
}

func load(getenv func(string) string, require func(config.Config) error) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, err
	}
	if err := require(cfg); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

func newStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*dynamo.Store, error) {
	client, err := NewDynamoClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return newStoreOn(client, cfg, log)
}

func newStoreOn(client *dynamodb.Client, cfg config.Config, log *slog.Logger) (*dynamo.Store, error) {
	opts := []dynamo.Option{dynamo.WithLogger(log)}
	if cfg.RetentionDays > 0 {
		opts = append(opts, dynamo.WithRetention(time.Duration(cfg.RetentionDays)*24*time.Hour))
	}
	store, err := dynamo.New(client, cfg.TableName, opts...)
	if err != nil {
		return nil, fmt.Errorf("new store on %s: %w", cfg.TableName, err)
	}
	return store, nil
}

// LocalRegion, LocalAccessKeyID and LocalSecretKey are what the client uses
// against DYNAMODB_ENDPOINT: the region when the environment names none, the
// credentials always (DynamoDB Local accepts any; a fixed pair avoids the
// default chain's slow instance-metadata probe on a laptop). DynamoDB Local
// keeps one database per access key id and region unless started with
// -sharedDb, so other local tools should use the same values.
const (
	LocalRegion      = "us-east-1"
	LocalAccessKeyID = "local"
	LocalSecretKey   = "local"
)

// NewDynamoClient loads the AWS configuration (region and credentials from
// the Lambda environment) and returns a DynamoDB client. With
// DYNAMODB_ENDPOINT set it talks to that endpoint instead (DynamoDB Local),
// with the local credentials and, if none is set, LocalRegion.
func NewDynamoClient(ctx context.Context, cfg config.Config) (*dynamodb.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	var opts []func(*dynamodb.Options)
	if cfg.DynamoEndpoint != "" {
		if awsCfg.Region == "" {
			awsCfg.Region = LocalRegion
		}
		awsCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretKey, ""))
		opts = append(opts, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
			// DynamoDB Local's x-amz-crc32 does not always match what the
			// SDK computes; the check guards a network this traffic never crosses.
			o.DisableValidateResponseChecksum = true
		})
	}
	return dynamodb.NewFromConfig(awsCfg, opts...), nil
}
