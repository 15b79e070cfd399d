package config

import (
	"strings"
	"testing"
	"time"
)

func TestPresenceTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default: link timeout + 30 s", env: map[string]string{}, want: DefaultLinkTimeout + 30*time.Second},
		{name: "follows the link timeout", env: map[string]string{EnvLinkTimeout: "20"}, want: 50 * time.Second},
		{name: "set", env: map[string]string{EnvLinkTimeout: "4", EnvPresenceTTL: "10"}, want: 10 * time.Second},
		{name: "as a duration", env: map[string]string{EnvPresenceTTL: "3m"}, want: 3 * time.Minute},
		{name: "not longer than the link timeout", env: map[string]string{EnvLinkTimeout: "60", EnvPresenceTTL: "60"}, wantErr: EnvPresenceTTL},
		{name: "garbage", env: map[string]string{EnvPresenceTTL: "soon"}, wantErr: EnvPresenceTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.PresenceTTL != tt.want {
				t.Errorf("PresenceTTL = %s, want %s", c.PresenceTTL, tt.want)
			}
		})
	}
}
