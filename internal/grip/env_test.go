package grip

import (
	"errors"
	"strings"
	"testing"

	"github.com/fanout-chat/serverless-chat/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPublishConfigFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		wantURI  string
		wantKey  string
		wantVars []string // an error naming these; empty: no error
		missing  bool     // the error wraps config.ErrMissing
	}{
		{name: "pushpin", env: map[string]string{config.EnvGripURL: "http://127.0.0.1:5561/"}, wantURI: "http://127.0.0.1:5561"},
		{name: "fastly form", env: map[string]string{config.EnvGripURL: "https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=tok"},
			wantURI: "https://api.fastly.com/service/abc", wantKey: "tok"},
		{name: "fastly variables", env: map[string]string{config.EnvFastlyServiceID: "svc", config.EnvFastlyAPIToken: "tok"},
			wantURI: "https://api.fastly.com/service/svc", wantKey: "tok"},
		{name: "GRIP_URL wins over Fastly variables", env: map[string]string{config.EnvGripURL: "http://127.0.0.1:5561", config.EnvFastlyServiceID: "svc", config.EnvFastlyAPIToken: "t"},
			wantURI: "http://127.0.0.1:5561"},
		{name: "nothing set", env: nil, wantVars: []string{config.EnvGripURL, config.EnvFastlyServiceID, config.EnvFastlyAPIToken}, missing: true},
		{name: "fastly without token", env: map[string]string{config.EnvFastlyServiceID: "svc"}, wantVars: []string{config.EnvGripURL}, missing: true},
		{name: "GRIP_URL not http", env: map[string]string{config.EnvGripURL: "ftp://x"}, wantVars: []string{config.EnvGripURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pc, err := PublishConfigFromEnv(env(tt.env))
			if len(tt.wantVars) == 0 {
				if err != nil {
					t.Fatalf("PublishConfigFromEnv: %v", err)
				}
				if pc.ControlURI != tt.wantURI || pc.Key != tt.wantKey {
					t.Errorf("PublishConfig = %+v, want URI %q key %q", pc, tt.wantURI, tt.wantKey)
				}
				return
			}
			if err == nil {
				t.Fatalf("PublishConfigFromEnv = %+v, want an error", pc)
			}
			if errors.Is(err, config.ErrMissing) != tt.missing {
				t.Errorf("error %v: wraps ErrMissing = %v, want %v", err, !tt.missing, tt.missing)
			}
			for _, v := range tt.wantVars {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}

func TestPublishConfigFromEnvHidesSecrets(t *testing.T) {
	t.Parallel()
	_, err := PublishConfigFromEnv(env(map[string]string{config.EnvGripURL: "https://api.fastly.com/service/abc?key=sekrit-token&bogus=1"}))
	if err == nil {
		t.Fatal("accepted an unknown GRIP_URL parameter")
	}
	if !strings.Contains(err.Error(), config.EnvGripURL) || strings.Contains(err.Error(), "sekrit-token") {
		t.Errorf("error %q must name GRIP_URL and not repeat the token", err)
	}
}

func TestVerifierConfigFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		wantKey  string
		wantIss  string
		wantVars []string // an error naming these; empty: no error
		missing  bool     // the error wraps config.ErrMissing
	}{
		{name: "shared key", env: map[string]string{config.EnvGripVerifyKey: "changeme"}, wantKey: "changeme"},
		{name: "base64 key, issuer from the service id", env: map[string]string{config.EnvGripVerifyKey: "base64:AAAA", config.EnvFastlyServiceID: "svc"},
			wantKey: "\x00\x00\x00", wantIss: "fastly:svc"},
		{name: "explicit issuer wins", env: map[string]string{config.EnvGripVerifyKey: "k", config.EnvFastlyServiceID: "svc", config.EnvGripVerifyIss: "me"},
			wantKey: "k", wantIss: "me"},
		{name: "key and issuer from GRIP_URL", env: map[string]string{
			config.EnvGripURL: "https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=tok&verify-key=base64:c2VjcmV0",
		}, wantKey: "secret", wantIss: "fastly:abc"},
		{name: "explicit key and issuer win over GRIP_URL's", env: map[string]string{
			config.EnvGripURL:       "https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=tok&verify-key=base64:c2VjcmV0",
			config.EnvGripVerifyKey: "mine", config.EnvGripVerifyIss: "me", config.EnvFastlyServiceID: "other",
		}, wantKey: "mine", wantIss: "me"},
		{name: "pushpin GRIP_URL with a separate key", env: map[string]string{config.EnvGripURL: "http://127.0.0.1:5561/", config.EnvGripVerifyKey: "changeme"}, wantKey: "changeme"},
		{name: "GRIP_URL's issuer wins over the service id", env: map[string]string{config.EnvGripURL: "http://127.0.0.1:5561?verify-iss=x", config.EnvGripVerifyKey: "k", config.EnvFastlyServiceID: "svc"},
			wantKey: "k", wantIss: "x"},
		{name: "Fanout's key with the service id", env: map[string]string{config.EnvGripVerifyKey: "base64:" + FastlyPublicKey, config.EnvFastlyServiceID: "svc"},
			wantKey: "-----BEGIN PUBLIC KEY-----", wantIss: "fastly:svc"},
		{name: "Fanout's key needs the issuer", env: map[string]string{config.EnvGripVerifyKey: "base64:" + FastlyPublicKey},
			wantVars: []string{config.EnvFastlyServiceID, config.EnvGripVerifyIss}, missing: true},
		{name: "no key", env: nil, wantVars: []string{config.EnvGripVerifyKey}, missing: true},
		{name: "bad base64", env: map[string]string{config.EnvGripVerifyKey: "base64:%%%"}, wantVars: []string{config.EnvGripVerifyKey}},
		{name: "bad GRIP_URL", env: map[string]string{config.EnvGripURL: "ftp://x", config.EnvGripVerifyKey: "k"}, wantVars: []string{config.EnvGripURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vc, err := VerifierConfigFromEnv(env(tt.env))
			if len(tt.wantVars) == 0 {
				if err != nil {
					t.Fatalf("VerifierConfigFromEnv: %v", err)
				}
				if !strings.HasPrefix(string(vc.Key), tt.wantKey) || len(tt.wantKey) == 0 || vc.Issuer != tt.wantIss {
					t.Errorf("VerifierConfig key %q iss %q, want key starting %q, iss %q", vc.Key, vc.Issuer, tt.wantKey, tt.wantIss)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifierConfigFromEnv = %+v, want an error", vc)
			}
			if errors.Is(err, config.ErrMissing) != tt.missing {
				t.Errorf("error %v: wraps ErrMissing = %v, want %v", err, !tt.missing, tt.missing)
			}
			for _, v := range tt.wantVars {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}
