package grip

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// fastlyAPI is the base of Fanout's publishing API: the control URI of a
// service is fastlyAPI + "/service/<service id>".
const fastlyAPI = "https://api.fastly.com"

// PublishConfig says where and how to publish, and how the proxy signs the
// requests it forwards.
type PublishConfig struct {
	// ControlURI is the proxy's control endpoint without a trailing slash
	// and without a query: go-gripcontrol appends "/publish/".
	ControlURI string
	// Key is sent as "Authorization: Bearer <Key>" (a Fastly API token), or,
	// when ControlIss is set, used to sign a JWT. Empty sends no
	// Authorization (Pushpin's local publish port).
	Key string
	// ControlIss, when set, makes the publisher authenticate with an HS256
	// JWT {iss: ControlIss} signed with Key instead of a Bearer token (the
	// iss= parameter of go-gripcontrol's GRIP URLs).
	ControlIss string
	// VerifyIss is the iss the proxy puts in Grip-Sig (verify-iss=), if any.
	VerifyIss string
	// VerifyKey is the key that verifies Grip-Sig (verify-key=), already
	// decoded from its "base64:" form, if any.
	VerifyKey string
}

// ParseGripURL parses a GRIP_URL: Pushpin's "http://127.0.0.1:5561" or the
// form Fastly and js-grip document,
// "https://api.fastly.com/service/<id>?verify-iss=fastly:<id>&key=<token>"
// with an optional "verify-key=base64:<PEM in base64>". Parameters key,
// verify-iss, verify-key and iss are understood; any other parameter, user
// info or fragment is refused rather than silently dropped, because
// go-gripcontrol would append "/publish/" after a query string.
func ParseGripURL(raw string) (PublishConfig, error) {
	if strings.TrimSpace(raw) == "" {
		return PublishConfig{}, errors.New("grip: GRIP URL is empty")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// Both url.Error and its cause quote parts of the URL (a port, an
		// escape), which may be a token: name the failure, never the text.
		return PublishConfig{}, errors.New("grip: parse GRIP URL: not a valid URL (its text is not repeated: it may hold a key)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return PublishConfig{}, fmt.Errorf("grip: GRIP URL scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return PublishConfig{}, errors.New("grip: GRIP URL has no host")
	}
	if u.User != nil {
		return PublishConfig{}, errors.New("grip: GRIP URL must not carry user info")
	}
	if u.Fragment != "" {
		return PublishConfig{}, errors.New("grip: GRIP URL must not carry a fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return PublishConfig{}, fmt.Errorf("grip: parse GRIP URL query: %w", err)
	}
	known := []string{"key", "iss", "verify-iss", "verify-key"}
	for name, vals := range q {
		if !slices.Contains(known, name) {
			if !looksLikeName(name) {
				// In "?<token>" (key= forgotten) the name is the secret,
				// and this error is logged: do not repeat it.
				return PublishConfig{}, fmt.Errorf("grip: GRIP URL has a parameter that is not one of %s", strings.Join(known, ", "))
			}
			return PublishConfig{}, fmt.Errorf("grip: GRIP URL parameter %q is not supported", name)
		}
		if len(vals) > 1 {
			return PublishConfig{}, fmt.Errorf("grip: GRIP URL parameter %q is repeated", name)
		}
	}
	cfg := PublishConfig{
		ControlURI: u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		ControlIss: q.Get("iss"),
		VerifyIss:  q.Get("verify-iss"),
	}
	if k := q.Get("key"); k != "" {
		key, err := ParseKey(k)
		if err != nil {
			return PublishConfig{}, fmt.Errorf("grip: GRIP URL key: %w", err)
		}
		cfg.Key = string(key)
	}
	if cfg.ControlIss != "" && cfg.Key == "" {
		return PublishConfig{}, errors.New("grip: GRIP URL has iss but no key")
	}
	if k := q.Get("verify-key"); k != "" {
		key, err := ParseKey(k)
		if err != nil {
			return PublishConfig{}, fmt.Errorf("grip: GRIP URL verify-key: %w", err)
		}
		cfg.VerifyKey = string(key)
	}
	return cfg, nil
}

// FastlyPublishConfig returns the configuration that publishes through
// Fastly Fanout for the service, authenticated by apiToken as a Bearer token.
// Grip-Sig verification is configured separately (GRIP_VERIFY_KEY, which
// defaults to FastlyPublicKey).
func FastlyPublishConfig(serviceID, apiToken string) PublishConfig {
	return PublishConfig{
		ControlURI: fastlyAPI + "/service/" + url.PathEscape(serviceID),
		Key:        apiToken,
	}
}

// looksLikeName reports whether a query parameter name looks like one a
// person would type (up to 16 lower-case letters, digits, '-' or '_'),
// rather than a token pasted without its "key=".
func looksLikeName(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
