package config

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/limit"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Rooms.Default().Slug; got != "devops-exchange-ldn" {
		t.Errorf("default room = %q, want devops-exchange-ldn", got)
	}
	if len(c.Rooms.All()) != 2 {
		t.Errorf("rooms = %v, want the two default rooms", c.Rooms.All())
	}
	if !c.ProfanityFilter {
		t.Error("ProfanityFilter = false, want true by default")
	}
	if c.RetentionDays != 0 || c.LinkTimeout != 120*time.Second || c.KeepAlive != 20*time.Second {
		t.Errorf("retention, link timeout, keep-alive = %d, %v, %v", c.RetentionDays, c.LinkTimeout, c.KeepAlive)
	}
	if c.LogLevel != slog.LevelInfo {
		t.Errorf("LogLevel = %v, want INFO", c.LogLevel)
	}
	if c.RateLimits.String() != limit.DefaultRules().String() {
		t.Errorf("RateLimits = %v, want the defaults", c.RateLimits)
	}
	if len(c.APIKeys) != 0 || c.GripVerifyIss != "" {
		t.Errorf("APIKeys %v, GripVerifyIss %q: want none", c.APIKeys, c.GripVerifyIss)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		EnvRooms:           "a:Alpha, b",
		EnvAPIKeys:         " k1 ,, k2 ",
		EnvAdminKey:        "adm",
		EnvFastlyServiceID: "svc",
		EnvFastlyAPIToken:  "tok",
		EnvGripVerifyKey:   "base64:AAAA",
		EnvTableName:       "chat",
		EnvDynamoEndpoint:  "http://127.0.0.1:8000",
		EnvProfanityFilter: "false",
		EnvRetentionDays:   "30",
		EnvLinkTimeout:     "2m",
		EnvKeepAlive:       "25",
		EnvLogLevel:        "debug",
		EnvRateLimits:      "send=5/10s",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Rooms.All(); len(got) != 2 || got[0].Name != "Alpha" || got[1].Name != "b" {
		t.Errorf("rooms = %v", got)
	}
	if strings.Join(c.APIKeys, "|") != "k1|k2" {
		t.Errorf("APIKeys = %q, want [k1 k2]", c.APIKeys)
	}
	if c.GripVerifyIss != "fastly:svc" {
		t.Errorf("GripVerifyIss = %q, want fastly:svc", c.GripVerifyIss)
	}
	if c.Publish.ControlURI != "https://api.fastly.com/service/svc" || c.Publish.Key != "tok" {
		t.Errorf("Publish = %+v, want Fastly's API for svc with the token", c.Publish)
	}
	if string(c.GripVerifyKey) != "\x00\x00\x00" {
		t.Errorf("GripVerifyKey = %q, want base64 AAAA decoded", c.GripVerifyKey)
	}
	if c.ProfanityFilter || c.RetentionDays != 30 || c.LinkTimeout != 2*time.Minute || c.KeepAlive != 25*time.Second {
		t.Errorf("filter %v retention %d link %v keep-alive %v", c.ProfanityFilter, c.RetentionDays, c.LinkTimeout, c.KeepAlive)
	}
	if c.LogLevel != slog.LevelDebug {
		t.Errorf("LogLevel = %v", c.LogLevel)
	}
	if got := c.RateLimits[limit.ActionSend]; got != (limit.Rule{Rate: 5, Per: 10 * time.Second, Burst: 5}) {
		t.Errorf("RateLimits[send] = %+v, want 5 per 10s", got)
	}
	if got := c.RateLimits[limit.ActionReact]; got != limit.DefaultRules()[limit.ActionReact] {
		t.Errorf("RateLimits[react] = %+v, want the default", got)
	}
	for name, check := range map[string]func() error{"send": c.RequireSend, "history": c.RequireHistory, "stream": c.RequireStream} {
		if err := check(); err != nil {
			t.Errorf("Require %s: %v", name, err)
		}
	}
}

func TestLoadExplicitIssuerWins(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{EnvFastlyServiceID: "svc", EnvGripVerifyIss: "me"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GripVerifyIss != "me" {
		t.Errorf("GripVerifyIss = %q, want me", c.GripVerifyIss)
	}
}

func TestLoadGripURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		wantURI    string
		wantKey    string
		wantVerify string
		wantIss    string
	}{
		{
			name:    "pushpin",
			env:     map[string]string{EnvGripURL: "http://127.0.0.1:5561/", EnvGripVerifyKey: "changeme"},
			wantURI: "http://127.0.0.1:5561", wantVerify: "changeme",
		},
		{
			name: "fastly form with verify-iss and verify-key",
			env: map[string]string{
				EnvGripURL: "https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=tok&verify-key=base64:c2VjcmV0",
			},
			wantURI: "https://api.fastly.com/service/abc", wantKey: "tok", wantVerify: "secret", wantIss: "fastly:abc",
		},
		{
			name: "explicit verify key and issuer win over GRIP_URL's",
			env: map[string]string{
				EnvGripURL:       "https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=tok&verify-key=base64:c2VjcmV0",
				EnvGripVerifyKey: "mine", EnvGripVerifyIss: "me", EnvFastlyServiceID: "other",
			},
			wantURI: "https://api.fastly.com/service/abc", wantKey: "tok", wantVerify: "mine", wantIss: "me",
		},
		{
			name:    "GRIP_URL wins over Fastly variables for publishing",
			env:     map[string]string{EnvGripURL: "http://127.0.0.1:5561", EnvFastlyServiceID: "svc", EnvFastlyAPIToken: "t"},
			wantURI: "http://127.0.0.1:5561", wantIss: "fastly:svc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Publish.ControlURI != tt.wantURI || c.Publish.Key != tt.wantKey {
				t.Errorf("Publish = %+v, want URI %q key %q", c.Publish, tt.wantURI, tt.wantKey)
			}
			if string(c.GripVerifyKey) != tt.wantVerify || c.GripVerifyIss != tt.wantIss {
				t.Errorf("verify key %q iss %q, want %q %q", c.GripVerifyKey, c.GripVerifyIss, tt.wantVerify, tt.wantIss)
			}
		})
	}
}

func TestLoadErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{EnvGripURL: "https://api.fastly.com/service/abc?key=sekrit-token&bogus=1"}))
	if err == nil {
		t.Fatal("Load accepted an unknown GRIP_URL parameter")
	}
	if !strings.Contains(err.Error(), EnvGripURL) || strings.Contains(err.Error(), "sekrit-token") {
		t.Errorf("error %q must name GRIP_URL and not repeat the token", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"bad room slug", map[string]string{EnvRooms: "Bad Slug"}, EnvRooms},
		{"duplicate room", map[string]string{EnvRooms: "a,a"}, EnvRooms},
		{"short table", map[string]string{EnvTableName: "ab"}, EnvTableName},
		{"endpoint not url", map[string]string{EnvDynamoEndpoint: "localhost:8000"}, EnvDynamoEndpoint},
		{"profanity not bool", map[string]string{EnvProfanityFilter: "maybe"}, EnvProfanityFilter},
		{"negative retention", map[string]string{EnvRetentionDays: "-1"}, EnvRetentionDays},
		{"retention not number", map[string]string{EnvRetentionDays: "ten"}, EnvRetentionDays},
		{"link timeout garbage", map[string]string{EnvLinkTimeout: "soon"}, EnvLinkTimeout},
		{"link timeout zero", map[string]string{EnvLinkTimeout: "0"}, EnvLinkTimeout},
		{"keep-alive fraction", map[string]string{EnvKeepAlive: "1500ms"}, EnvKeepAlive},
		{"log level", map[string]string{EnvLogLevel: "loud"}, EnvLogLevel},
		{"rate limits", map[string]string{EnvRateLimits: "send=lots"}, EnvRateLimits},
		{"GRIP_URL not http", map[string]string{EnvGripURL: "ftp://x"}, EnvGripURL},
		{"verify key bad base64", map[string]string{EnvGripVerifyKey: "base64:%%%"}, EnvGripVerifyKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Errorf("error %q does not name %s", err, tt.wantVar)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		require  func(Config) error
		wantVars []string // empty: no error
	}{
		{"history needs table", nil, Config.RequireHistory, []string{EnvTableName}},
		{"history needs nothing else", map[string]string{EnvTableName: "chat"}, Config.RequireHistory, nil},
		{"stream needs table and key", nil, Config.RequireStream, []string{EnvTableName, EnvGripVerifyKey}},
		{"stream ok", map[string]string{EnvTableName: "chat", EnvGripVerifyKey: "s3cret"}, Config.RequireStream, nil},
		{"stream with Fanout's key needs the issuer", map[string]string{EnvTableName: "chat", EnvGripVerifyKey: "base64:" + grip.FastlyPublicKey}, Config.RequireStream, []string{EnvFastlyServiceID, EnvGripVerifyIss}},
		{"stream with Fanout's key and service id", map[string]string{EnvTableName: "chat", EnvGripVerifyKey: "base64:" + grip.FastlyPublicKey, EnvFastlyServiceID: "svc"}, Config.RequireStream, nil},
		{"stream with Fanout's key and issuer", map[string]string{EnvTableName: "chat", EnvGripVerifyKey: "base64:" + grip.FastlyPublicKey, EnvGripVerifyIss: "fastly:svc"}, Config.RequireStream, nil},
		{"send needs table, keys, publish", nil, Config.RequireSend, []string{EnvTableName, EnvAPIKeys, EnvGripURL}},
		{"send with grip url", map[string]string{EnvTableName: "chat", EnvAPIKeys: "k", EnvGripURL: "http://127.0.0.1:5561"}, Config.RequireSend, nil},
		{"send fastly without token", map[string]string{EnvTableName: "chat", EnvAPIKeys: "k", EnvFastlyServiceID: "svc"}, Config.RequireSend, []string{EnvGripURL}},
		{"send with fastly", map[string]string{EnvTableName: "chat", EnvAPIKeys: "k", EnvFastlyServiceID: "svc", EnvFastlyAPIToken: "t"}, Config.RequireSend, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = tt.require(c)
			if len(tt.wantVars) == 0 {
				if err != nil {
					t.Fatalf("require: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMissing) {
				t.Fatalf("require error = %v, want ErrMissing", err)
			}
			for _, v := range tt.wantVars {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}
