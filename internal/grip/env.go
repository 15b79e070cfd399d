package grip

import (
	"bytes"
	"errors"
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

// VerifierConfigFromEnv reads how the stream function checks Grip-Sig,
// through getenv. The key is GRIP_VERIFY_KEY decoded from its "base64:" form
// (a PEM public key means ES256, anything else is an HS256 secret), else the
// verify-key parameter of GRIP_URL. The issuer is GRIP_VERIFY_ISS, else the
// verify-iss parameter of GRIP_URL, else "fastly:<FASTLY_SERVICE_ID>" when
// that is set; empty means the issuer is not checked. It fails, naming the
// variable, on a malformed value, and, wrapping config.ErrMissing, without a
// key or with a public key but no issuer.
func VerifierConfigFromEnv(getenv func(string) string) (VerifierConfig, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var (
		cfg  VerifierConfig
		errs []error
		url  PublishConfig
	)
	if raw := get(config.EnvGripURL); raw != "" {
		pc, err := ParseGripURL(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", config.EnvGripURL, err))
		}
		url = pc
	}
	if v := get(config.EnvGripVerifyKey); v != "" {
		key, err := ParseKey(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", config.EnvGripVerifyKey, err))
		}
		cfg.Key = key
	} else if url.VerifyKey != "" {
		cfg.Key = []byte(url.VerifyKey)
	}
	switch id := get(config.EnvFastlyServiceID); {
	case get(config.EnvGripVerifyIss) != "":
		cfg.Issuer = get(config.EnvGripVerifyIss)
	case url.VerifyIss != "":
		cfg.Issuer = url.VerifyIss
	case id != "":
		cfg.Issuer = "fastly:" + id
	}
	if err := errors.Join(errs...); err != nil {
		return VerifierConfig{}, err
	}
	if len(cfg.Key) == 0 {
		errs = append(errs, config.Missing(config.EnvGripVerifyKey, "the stream function verifies Grip-Sig with it (Fastly's public key or Pushpin's sig_key; or verify-key in "+config.EnvGripURL+")"))
	}
	if cfg.Issuer == "" && bytes.HasPrefix(bytes.TrimSpace(cfg.Key), []byte("-----BEGIN")) {
		// Fanout signs every Fastly customer's requests with the same key
		// pair: without the issuer, any Fastly service could open holds here.
		errs = append(errs, config.Missing(config.EnvFastlyServiceID+" or "+config.EnvGripVerifyIss, "a public verify key is shared by every Fanout customer; the issuer fastly:<service id> tells this service's Grip-Sig from another's"))
	}
	if err := errors.Join(errs...); err != nil {
		return VerifierConfig{}, err
	}
	return cfg, nil
}
