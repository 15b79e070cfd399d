// Package secrets gives a function its secret settings. In AWS each secret
// lives in an SSM Parameter Store SecureString whose name the environment
// carries in <VAR>_PARAMETER (API_KEYS_PARAMETER=/serverless-chat/api-keys):
// Resolve reads them all with one GetParameters call at cold start, and the
// plaintext never appears in the function's configuration. Locally there is
// no SSM: the variable itself (API_KEYS) holds the value, and a set variable
// wins over its parameter.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ParameterSuffix turns a variable's name into the name of the variable that
// names its SSM parameter: API_KEYS → API_KEYS_PARAMETER.
const ParameterSuffix = "_PARAMETER"

// maxNames is how many names one GetParameters call accepts.
const maxNames = 10

// ErrNotFound is wrapped by the error of a Resolve whose parameters do not
// all exist (or are not readable by the function's role).
var ErrNotFound = errors.New("secrets: SSM parameter not found")

// API is the part of *ssm.Client that Resolve calls.
type API interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

var _ API = (*ssm.Client)(nil)

// Wanted returns, for each of vars that is empty in getenv while its
// <var>_PARAMETER is set, that parameter's name, keyed by the variable. An
// empty result means Resolve has nothing to read (the local case), so the
// caller need not build an SSM client at all.
func Wanted(getenv func(string) string, vars ...string) map[string]string {
	out := map[string]string{}
	for _, v := range vars {
		if strings.TrimSpace(getenv(v)) != "" {
			continue
		}
		if name := strings.TrimSpace(getenv(v + ParameterSuffix)); name != "" {
			out[v] = name
		}
	}
	return out
}

// Resolve reads the parameters that Wanted(getenv, vars...) names, with
// decryption, in one GetParameters call, and returns a getenv that answers
// those variables with the parameters' values and everything else from
// getenv. It fails, naming the variables and parameters, when one is missing
// or unreadable: a function started without its keys would fail every
// request instead.
func Resolve(ctx context.Context, client API, getenv func(string) string, vars ...string) (func(string) string, error) {
	wanted := Wanted(getenv, vars...)
	if len(wanted) == 0 {
		return getenv, nil
	}
	if len(wanted) > maxNames {
		return nil, fmt.Errorf("secrets: %d parameters, more than one GetParameters call reads (%d)", len(wanted), maxNames)
	}
	byName := map[string][]string{} // parameter name → variables
	var names []string
	for v, name := range wanted {
		if _, dup := byName[name]; !dup {
			names = append(names, name)
		}
		byName[name] = append(byName[name], v)
	}
	sort.Strings(names)
	out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("secrets: read SSM parameters %s: %w", strings.Join(names, ", "), err)
	}
	if len(out.InvalidParameters) > 0 {
		var missing []string
		for _, name := range out.InvalidParameters {
			vs := byName[name]
			sort.Strings(vs)
			missing = append(missing, fmt.Sprintf("%s (for %s)", name, strings.Join(vs, ", ")))
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: %s", ErrNotFound, strings.Join(missing, "; "))
	}
	values := map[string]string{}
	for _, p := range out.Parameters {
		for _, v := range byName[aws.ToString(p.Name)] {
			values[v] = aws.ToString(p.Value)
		}
	}
	for v, name := range wanted {
		if _, ok := values[v]; !ok {
			return nil, fmt.Errorf("%w: %s (for %s): not in the answer", ErrNotFound, name, v)
		}
	}
	return func(k string) string {
		if v, ok := values[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// Env is Resolve for a function's main: when getenv names no parameter for
// vars (the local case) it returns getenv without calling newClient, so no
// AWS configuration is loaded; otherwise it builds the client once and
// resolves.
func Env(ctx context.Context, getenv func(string) string, newClient func(context.Context) (API, error), vars ...string) (func(string) string, error) {
	if len(Wanted(getenv, vars...)) == 0 {
		return getenv, nil
	}
	client, err := newClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("secrets: SSM client: %w", err)
	}
	return Resolve(ctx, client, getenv, vars...)
}
