package ssmenv

import (
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/secrets"
)

// TestLoadWithoutParameters: with no parameter named, or only for variables
// already set, Load answers from getenv itself and reads no AWS
// configuration (the environment below has none, nor a region).
func TestLoadWithoutParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"local stack", map[string]string{config.EnvAPIKeys: "k1", config.EnvGripURL: "http://127.0.0.1:5561"}},
		{"a set variable wins over its parameter", map[string]string{
			config.EnvAPIKeys: "k1", config.EnvAPIKeys + secrets.ParameterSuffix: "/chat/api-keys",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv, err := Load(t.Context(), func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for k, want := range tt.env {
				if got := getenv(k); got != want {
					t.Errorf("getenv(%s) = %q, want %q", k, got, want)
				}
			}
		})
	}
}
