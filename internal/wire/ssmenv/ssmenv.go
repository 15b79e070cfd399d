// Package ssmenv gives the mains of the functions that have secrets (send and
// stream) their environment: getenv with the secret variables
// (config.Secrets) read from SSM Parameter Store when the environment names
// their parameters (package secrets). It is a package of its own, apart from
// package wire, so that history and web, which have no secrets, link no SSM
// client.
package ssmenv

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/secrets"
)

// Load returns getenv with every secret variable that is empty but has a
// <VAR>_PARAMETER answered from that SSM parameter, read with one
// GetParameters call. When no parameter is named (the local stack) it
// returns getenv and loads no AWS configuration.
func Load(ctx context.Context, getenv func(string) string) (func(string) string, error) {
	return secrets.Env(ctx, getenv, newSSM, config.Secrets()...)
}

// newSSM builds the SSM client from the Lambda environment's region and role.
func newSSM(ctx context.Context) (secrets.API, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssmenv: load AWS configuration: %w", err)
	}
	return ssm.NewFromConfig(cfg), nil
}
