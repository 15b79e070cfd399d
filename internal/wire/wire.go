// Package wire holds what the DynamoDB-backed functions' constructors share:
// the DynamoDB client and the store built once per cold start. Each function
// has its own constructor in a subpackage (wire/send, wire/history,
// wire/stream, wire/web) that its Lambda main and the local stack both call,
// so the emulator serves exactly the handler that is deployed and each
// binary links only what its own handler uses.
package wire

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

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
)

// Builder builds one function's handler from the environment (getenv is
// os.Getenv in Lambda) with the logger its handlers log to. It fails, with an
// error naming the variable, when configuration is missing or malformed.
// Every function's New has this type.
type Builder func(ctx context.Context, getenv func(string) string, log *slog.Logger) (http.Handler, error)

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

// LoadConfig loads the configuration and checks it with the function's
// Require method (config.Config.RequireSend, …).
func LoadConfig(getenv func(string) string, require func(config.Config) error) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, err
	}
	if err := require(cfg); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// NewStore builds the DynamoDB client and the store on cfg's table, with
// cfg's retention.
func NewStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*dynamo.Store, error) {
	client, err := NewDynamoClient(ctx, cfg.DynamoEndpoint)
	if err != nil {
		return nil, err
	}
	return NewStoreOn(client, cfg, log)
}

// NewStoreOn builds the store on cfg's table with client, with cfg's
// retention, for a function that uses the client for more than the store.
func NewStoreOn(client *dynamodb.Client, cfg config.Config, log *slog.Logger) (*dynamo.Store, error) {
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

// NewDynamoClient loads the AWS configuration (region and credentials from
// the Lambda environment) and returns a DynamoDB client. With endpoint set
// (DYNAMODB_ENDPOINT) it talks to that endpoint instead (DynamoDB Local),
// with the local credentials and, if none is set, LocalRegion.
func NewDynamoClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	var opts []func(*dynamodb.Options)
	if endpoint != "" {
		if awsCfg.Region == "" {
			awsCfg.Region = LocalRegion
		}
		awsCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretKey, ""))
		opts = append(opts, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local's x-amz-crc32 does not always match what the
			// SDK computes; the check guards a network this traffic never crosses.
			o.DisableValidateResponseChecksum = true
		})
	}
	return dynamodb.NewFromConfig(awsCfg, opts...), nil
}
