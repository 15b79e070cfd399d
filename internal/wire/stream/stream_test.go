package stream

import (
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/config"
)

// TestHoldOptionsFollowTheEnvironment: the stream settings of the
// environment reach the handler's options.
func TestHoldOptionsFollowTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		config.EnvLinkTimeout:     "45",
		config.EnvKeepAlive:       "15",
		config.EnvReconnectSpread: "12",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	so := holdOptions(cfg)
	if so.LinkTimeout != 45*time.Second || so.KeepAlive != 15*time.Second || so.RetryJitter != 12*time.Second {
		t.Errorf("link timeout %v, keep-alive %v, retry jitter %v; want 45s, 15s, 12s", so.LinkTimeout, so.KeepAlive, so.RetryJitter)
	}
}
