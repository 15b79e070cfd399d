package functions_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/internal/wire/history"
	"github.com/fanout-chat/serverless-chat/internal/wire/send"
	"github.com/fanout-chat/serverless-chat/internal/wire/stream"
	"github.com/fanout-chat/serverless-chat/internal/wire/web"
)

// builders is the constructor each function's main calls, keyed by its
// logical id in template.yaml.
func builders() map[string]wire.Builder {
	return map[string]wire.Builder{
		"SendFunction":    send.New,
		"HistoryFunction": history.New,
		"StreamFunction":  stream.New,
		"WebFunction":     web.New,
	}
}

func TestBuilders(t *testing.T) {
	t.Parallel()
	base := map[string]string{"TABLE_NAME": "chat", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		fn      string
		env     map[string]string
		wantErr string // "" = builds
	}{
		{"history builds without GRIP settings", "HistoryFunction", base, ""},
		{"history needs the table", "HistoryFunction", map[string]string{}, "TABLE_NAME"},
		{"send builds", "SendFunction", with(map[string]string{"API_KEYS": "k", "GRIP_URL": "http://127.0.0.1:5561"}), ""},
		{"send builds with Fastly", "SendFunction", with(map[string]string{"API_KEYS": "k", "FASTLY_SERVICE_ID": "s", "FASTLY_API_TOKEN": "t"}), ""},
		{"send needs API keys", "SendFunction", with(map[string]string{"GRIP_URL": "http://127.0.0.1:5561"}), "API_KEYS"},
		{"send needs a publish target", "SendFunction", with(map[string]string{"API_KEYS": "k"}), "GRIP_URL"},
		{"stream builds with a shared key", "StreamFunction", with(map[string]string{"GRIP_VERIFY_KEY": "changeme"}), ""},
		{"stream needs a verify key", "StreamFunction", base, "GRIP_VERIFY_KEY"},
		{"stream with a public key needs the issuer", "StreamFunction", with(map[string]string{"GRIP_VERIFY_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}), "GRIP_VERIFY_ISS"},
		{"send refuses malformed rate limits", "SendFunction", with(map[string]string{"API_KEYS": "k", "GRIP_URL": "http://127.0.0.1:5561", "RATE_LIMITS": "send=lots"}), "RATE_LIMITS"},
		{"send refuses a malformed GRIP_URL", "SendFunction", with(map[string]string{"API_KEYS": "k", "GRIP_URL": "ftp://x"}), "GRIP_URL"},
		{"stream refuses a broken PEM key", "StreamFunction", with(map[string]string{"GRIP_VERIFY_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "GRIP_VERIFY_ISS": "fastly:svc"}), "GRIP_VERIFY_KEY"},
		{"web builds without DynamoDB or GRIP settings", "WebFunction", map[string]string{}, ""},
		{"web refuses malformed rooms", "WebFunction", map[string]string{"ROOMS": "Not A Slug"}, "ROOMS"},
		{"malformed variable", "HistoryFunction", with(map[string]string{"ROOMS": "Not A Slug"}), "ROOMS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			build, ok := builders()[tt.fn]
			if !ok {
				t.Fatalf("no builder for %s", tt.fn)
			}
			h, err := build(t.Context(), func(k string) string { return tt.env[k] }, slog.New(slog.DiscardHandler))
			if tt.wantErr == "" {
				if err != nil || h == nil {
					t.Fatalf("build: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not name %s", err, tt.wantErr)
			}
		})
	}
}

// TestKeepAliveDefaultsAgree: config cannot import grip (history and web
// link config), so it repeats the hold's default keep-alive.
func TestKeepAliveDefaultsAgree(t *testing.T) {
	t.Parallel()
	if config.DefaultKeepAlive != grip.DefaultKeepAlive {
		t.Errorf("config.DefaultKeepAlive = %v, grip.DefaultKeepAlive = %v", config.DefaultKeepAlive, grip.DefaultKeepAlive)
	}
}
