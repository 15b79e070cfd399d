// Command web is the web Lambda function: it wires the handler built by
// internal/wire/web behind the API Gateway HTTP API (payload 2.0) adapter.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/wire/web"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	handler, err := web.New(context.Background(), os.Getenv, slog.Default())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(handler).ProxyWithContext)
}
