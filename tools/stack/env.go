package stack

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/secrets"
	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Environments returns each function's environment as the stack gives it,
// keyed by logical id, for functions that reach DynamoDB at dynamoEndpoint
// and publish to publishURL. Layers, each over the one before: the
// template's (Globals, then the function's own), the stack's settings (the
// endpoints, Pushpin's sig_key as the verify key, the keys), the env-vars
// file, then cfg.Env. The template's SSM parameter names of the secrets
// (API_KEYS_PARAMETER …) are blanked: locally secrets come from the
// environment. Each layer reaches only the functions whose template
// declares the variable, as with `sam local --env-vars`; a variable of
// cfg.Env that no function declares is an error. The Lambda service's own
// variables (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME …) are not included.
func Environments(cfg Config, tmpl *apigw.Template, dynamoEndpoint, publishURL string, log *slog.Logger) (map[string]map[string]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	vars := apigw.EnvVars{"Parameters": {
		config.EnvDynamoEndpoint: dynamoEndpoint,
		config.EnvGripURL:        publishURL,
		config.EnvGripVerifyKey:  "base64:" + base64.StdEncoding.EncodeToString([]byte(cfg.SigKey)),
		// Pushpin signs with this issuer (proc.DefaultSigIss): the stream
		// checks it locally as it checks fastly:<service id> in production.
		config.EnvGripVerifyIss: proc.DefaultSigIss,
		config.EnvAPIKeys:       cfg.APIKeys,
		config.EnvAdminKey:      cfg.AdminKey,
	}}
	// Locally the secrets are the plaintext variables above, never SSM: the
	// template's <VAR>_PARAMETER names are blanked so no function reads AWS.
	for _, v := range config.Secrets() {
		vars["Parameters"][v+secrets.ParameterSuffix] = ""
	}
	if cfg.EnvVarsFile != "" {
		file, err := apigw.LoadEnvVars(cfg.EnvVarsFile)
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		vars = vars.Merge(file)
	}
	envs := map[string]map[string]string{}
	used := map[string]bool{}
	for _, id := range tmpl.FunctionIDs() {
		env, ignored, err := tmpl.Environment(id, vars)
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		if len(ignored) > 0 {
			log.Debug("not declared by the template for this function; like sam local, not set", "function", id, "variables", ignored)
		}
		declared := tmpl.Functions[id].Environment
		for k, v := range cfg.Env {
			if _, ok := declared[k]; ok {
				env[k] = v
				used[k] = true
			}
		}
		envs[id] = env
	}
	var unknown []string
	for k := range cfg.Env {
		if !used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("stack: Env sets %s, which no function of %s declares", strings.Join(unknown, ", "), cfg.Template)
	}
	return envs, nil
}

// withLambdaEnv returns env plus what the Lambda service sets for the
// function.
func withLambdaEnv(env map[string]string, id string, fn *apigw.FunctionResource) map[string]string {
	out := maps.Clone(env)
	out["AWS_REGION"] = apigw.LocalRegion
	out["AWS_DEFAULT_REGION"] = apigw.LocalRegion
	out["AWS_LAMBDA_FUNCTION_NAME"] = id
	out["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(fn.MemorySize)
	out["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(fn.Timeout / time.Second))
	// What the template's LoggingConfig (LogFormat JSON, ApplicationLogLevel
	// = LOG_LEVEL) makes Lambda set; lambdacontext.NewLogger reads them.
	out["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
	if lvl := env["LOG_LEVEL"]; lvl != "" {
		out["AWS_LAMBDA_LOG_LEVEL"] = strings.ToUpper(lvl)
	}
	return out
}

// LambdaEnvironments is Environments plus, for each function, the
// variables the Lambda service sets (region, function name, memory size,
// timeout): what the function sees at run time.
func LambdaEnvironments(cfg Config, tmpl *apigw.Template, dynamoEndpoint, publishURL string, log *slog.Logger) (map[string]map[string]string, error) {
	envs, err := Environments(cfg, tmpl, dynamoEndpoint, publishURL, log)
	if err != nil {
		return nil, err
	}
	for id, env := range envs {
		envs[id] = withLambdaEnv(env, id, tmpl.Functions[id])
	}
	return envs, nil
}

// EnvList renders an environment map as sorted KEY=value pairs, the form
// exec and the Lambda RIE take.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// FunctionPackage returns the Go package of a function of the template:
// "SendFunction" is ./functions/send, as the Makefile's build-SendFunction
// target builds it.
func FunctionPackage(logicalID string) string {
	return "./functions/" + strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}
