// Command web is the web Lambda function: it wires the pages and static
// front end of internal/webui behind the API Gateway HTTP API (payload 2.0)
// adapter. It calls webui.NewFromEnv directly, as app.NewWeb does for the
// local stack, so this binary carries no DynamoDB or GRIP client.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/webui"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	handler, err := webui.NewFromEnv(os.Getenv, webui.WithLogger(slog.Default()))
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(handler).ProxyWithContext)
}
