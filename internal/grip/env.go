package grip

import (
	"fmt"
	"strings"

	"github.com/fanout-chat/serverless-chat/internal/config"
)

// PublishConfigFromEnv reads where the send function publishes, through
// getenv (os.Getenv in Lambda): GRIP_URL when set, else Fastly's publishing
// API for FASTLY_SERVICE_ID authenticated by FASTLY_API_TOKEN. It fails,
// naming the variable, on a malformed GRIP_URL (without repeating it: it may
// hold a token) and, wrapping config.ErrMissing, when neither is set.
func PublishConfigFromEnv(getenv func(string) string) (PublishConfig, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	if raw := get(config.EnvGripURL); raw != "" {
		pc, err := ParseGripURL(raw)
		if err != nil {
			return PublishConfig{}, fmt.Errorf("config: %s: %w", config.EnvGripURL, err)
		}
		return pc, nil
	}
	if id, token := get(config.EnvFastlyServiceID), get(config.EnvFastlyAPIToken); id != "" && token != "" {
		return FastlyPublishConfig(id, token), nil
	}
	return PublishConfig{}, config.Missing(config.EnvGripURL,
		"set it, or both "+config.EnvFastlyServiceID+" and "+config.EnvFastlyAPIToken+", so messages can be published")
}
