package apigw

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// EnvVars are local environment overrides in the format of
// `sam local --env-vars`: the "Parameters" entry applies to every function,
// an entry named after a function's logical id to that function only (and
// wins over "Parameters").
type EnvVars map[string]map[string]string

// Merge returns a copy of e with the entries of o laid over it.
func (e EnvVars) Merge(o EnvVars) EnvVars {
	out := EnvVars{}
	for _, src := range []EnvVars{e, o} {
		for scope, vars := range src {
			if out[scope] == nil {
				out[scope] = map[string]string{}
			}
			for k, v := range vars {
				out[scope][k] = v
			}
		}
	}
	return out
}

// ParseEnvVars parses an env-vars JSON document. Values may be strings,
// numbers or booleans, as SAM accepts.
func ParseEnvVars(data []byte) (EnvVars, error) {
	var raw map[string]map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("apigw: parse env vars: %w", err)
	}
	out := EnvVars{}
	for scope, vars := range raw {
		out[scope] = map[string]string{}
		for k, v := range vars {
			switch x := v.(type) {
			case string:
				out[scope][k] = x
			case float64, bool:
				out[scope][k] = fmt.Sprint(x)
			case nil:
				out[scope][k] = ""
			default:
				return nil, fmt.Errorf("apigw: parse env vars: %s.%s is not a scalar", scope, k)
			}
		}
	}
	return out, nil
}

// LoadEnvVars reads an env-vars file. A missing file is no override.
func LoadEnvVars(path string) (EnvVars, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return EnvVars{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apigw: read env vars %s: %w", path, err)
	}
	e, err := ParseEnvVars(b)
	if err != nil {
		return nil, fmt.Errorf("env vars %s: %w", path, err)
	}
	return e, nil
}
