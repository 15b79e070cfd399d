// Command stream is the stream Lambda function: it wires the handler built by
// internal/wire/stream behind the API Gateway HTTP API (payload 2.0) adapter. The
// Fastly token it publishes presence with comes from SSM Parameter Store
// when the environment names its parameter (package ssmenv).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/emf"
	"github.com/fanout-chat/serverless-chat/internal/wire/ssmenv"
	"github.com/fanout-chat/serverless-chat/internal/wire/stream"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger().With(emf.DimensionFunction, lambdacontext.FunctionName))
	ctx := context.Background()
	getenv, err := ssmenv.Load(ctx, os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	handler, err := stream.New(ctx, getenv, slog.Default())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(handler).ProxyWithContext)
}
