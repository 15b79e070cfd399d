package config

import (
	"errors"
	"strings"
	"testing"
	"time"
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
	if c.RetentionDays != 0 || c.LinkTimeout != 60*time.Second || c.KeepAlive != 20*time.Second || c.ReconnectSpread != 3*time.Second {
		t.Errorf("retention, link timeout, keep-alive, reconnect spread = %d, %v, %v, %v", c.RetentionDays, c.LinkTimeout, c.KeepAlive, c.ReconnectSpread)
	}
	if len(c.APIKeys) != 0 {
		t.Errorf("APIKeys %v: want none", c.APIKeys)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		EnvRooms:           "a:Alpha, b",
		EnvAPIKeys:         " k1 ,, k2 ",
		EnvAdminKey:        "adm",
		EnvTableName:       "chat",
		EnvDynamoEndpoint:  "http://127.0.0.1:8000",
		EnvProfanityFilter: "false",
		EnvRetentionDays:   "30",
		EnvLinkTimeout:     "2m",
		EnvKeepAlive:       "25",
		EnvReconnectSpread: "10s",
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
	if c.ProfanityFilter || c.RetentionDays != 30 || c.LinkTimeout != 2*time.Minute || c.KeepAlive != 25*time.Second || c.ReconnectSpread != 10*time.Second {
		t.Errorf("filter %v retention %d link %v keep-alive %v reconnect spread %v", c.ProfanityFilter, c.RetentionDays, c.LinkTimeout, c.KeepAlive, c.ReconnectSpread)
	}
	for name, check := range map[string]func() error{"send": c.RequireSend, "history": c.RequireHistory, "stream": c.RequireStream} {
		if err := check(); err != nil {
			t.Errorf("Require %s: %v", name, err)
		}
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
		{"reconnect spread zero", map[string]string{EnvReconnectSpread: "0"}, EnvReconnectSpread},
		{"reconnect spread garbage", map[string]string{EnvReconnectSpread: "wide"}, EnvReconnectSpread},
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
		{"stream needs table", nil, Config.RequireStream, []string{EnvTableName}},
		{"stream ok", map[string]string{EnvTableName: "chat"}, Config.RequireStream, nil},
		{"send needs table and keys", nil, Config.RequireSend, []string{EnvTableName, EnvAPIKeys}},
		{"send ok", map[string]string{EnvTableName: "chat", EnvAPIKeys: "k"}, Config.RequireSend, nil},
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

// TestLoadRefusesSecondsThatOverflow: (2^55+1) seconds wraps time.Duration
// around to exactly 1 s; it must be refused, not loaded as 1 s.
func TestLoadRefusesSecondsThatOverflow(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"36028797018963969", "9223372036854775807", "99999999999999999999"} {
		for _, name := range []string{EnvLinkTimeout, EnvKeepAlive, EnvReconnectSpread} {
			env := map[string]string{name: v}
			if c, err := Load(func(k string) string { return env[k] }); err == nil {
				t.Errorf("%s=%s loaded (link %v, keep-alive %v), want an error", name, v, c.LinkTimeout, c.KeepAlive)
			}
		}
	}
}
