// Command web is the Lambda function that serves the chat's pages and static
// front end (internal/webui) behind API Gateway.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/app"
)

func main() {
	logger := lambdacontext.NewLogger()
	slog.SetDefault(logger)
	h, err := app.NewWeb(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start web function", slog.Any("error", err))
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
