// Package config turns the functions' environment into typed configuration.
// Every function calls Load, which parses and validates whatever is set, and
// then the Require method of its own kind, which fails when something that
// function needs is missing. A variable a function does not need is never
// required of it, so the history function starts without any GRIP setting.
//
// The GRIP variables (GRIP_URL, GRIP_VERIFY_KEY, GRIP_VERIFY_ISS,
// FASTLY_SERVICE_ID, FASTLY_API_TOKEN) are named here but read by
// internal/grip, which only send and stream link: this package depends on
// nothing but the chat domain, so every function can link it.
package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// Names of the environment variables.
const (
	EnvRooms           = "ROOMS"
	EnvAPIKeys         = "API_KEYS"
	EnvAdminKey        = "ADMIN_KEY"
	EnvGripURL         = "GRIP_URL"
	EnvGripVerifyKey   = "GRIP_VERIFY_KEY"
	EnvGripVerifyIss   = "GRIP_VERIFY_ISS"
	EnvFastlyServiceID = "FASTLY_SERVICE_ID"
	EnvFastlyAPIToken  = "FASTLY_API_TOKEN"
	EnvTableName       = "TABLE_NAME"
	EnvDynamoEndpoint  = "DYNAMODB_ENDPOINT"
	EnvProfanityFilter = "PROFANITY_FILTER"
	EnvRetentionDays   = "RETENTION_DAYS"
	EnvLinkTimeout     = "LINK_TIMEOUT"
	EnvKeepAlive       = "KEEP_ALIVE"
	EnvPresenceTTL     = "PRESENCE_TTL"
	EnvReconnectSpread = "RECONNECT_SPREAD"
	EnvLogLevel        = "LOG_LEVEL"
	// EnvRateLimits is read by the send function's constructor, the only
	// one that writes under a limit ("send=20/1m/10,react=60/1m" over
	// limit.DefaultRules).
	EnvRateLimits = "RATE_LIMITS"
)

// Secrets returns the variables that hold secrets. In AWS none of them is
// set: each comes from the SSM SecureString that <VAR>_PARAMETER names
// (API_KEYS_PARAMETER …), read once at cold start by package secrets, and a
// function's template environment names only the ones it uses (send: the
// keys and the Fastly token; stream: the token, to publish presence).
// Locally they are set directly.
func Secrets() []string {
	return []string{EnvAPIKeys, EnvAdminKey, EnvFastlyAPIToken, EnvGripURL}
}

// Defaults of the optional settings.
const (
	// DefaultLinkTimeout is LINK_TIMEOUT when unset: how long a quiet
	// stream waits before the proxy checks its next link. It bounds how
	// long the first publish lost after a quiet spell, with nothing after
	// it, goes unnoticed (60–120 s), against one stream invocation per
	// quiet listener per minute; after a lost publish the stream
	// checks every 3 s for 30 s (stream.Options.SuspectTimeout).
	// docs/architecture.md (Recovery) has the table it was chosen from.
	DefaultLinkTimeout = 60 * time.Second
	// DefaultKeepAlive is KEEP_ALIVE when unset: the GRIP hold's default
	// (grip.DefaultKeepAlive; the stream function's test checks they agree).
	DefaultKeepAlive = 20 * time.Second
	// DefaultReconnectSpread is RECONNECT_SPREAD when unset: browsers
	// reconnect after a dropped stream 1 s plus up to this long (drawn per
	// stream), so a proxy restart that drops every listener of a room brings
	// them back over this span (docs/soak.md, Connect storms).
	DefaultReconnectSpread = 3 * time.Second
	// DefaultPresenceSlack is how much longer than LINK_TIMEOUT a visitor
	// stays present when PRESENCE_TTL is unset: room for a late next link.
	DefaultPresenceSlack = 30 * time.Second
)

// ErrMissing is wrapped by every error about a required variable that is not
// set.
var ErrMissing = errors.New("config: required variable not set")

// Config is the whole configuration of the chat functions.
type Config struct {
	// Rooms is the parsed ROOMS list (chat.DefaultRooms when unset).
	Rooms *chat.Rooms
	// APIKeys are the keys accepted in x-api-key for writes (API_KEYS,
	// comma-separated).
	APIKeys []string
	// AdminKey is the key the admin routes need (ADMIN_KEY); empty disables
	// them.
	AdminKey string
	// TableName is the DynamoDB table (TABLE_NAME).
	TableName string
	// DynamoEndpoint is DYNAMODB_ENDPOINT, a base URL such as
	// http://127.0.0.1:8000 for DynamoDB Local; empty means AWS.
	DynamoEndpoint string
	// ProfanityFilter is PROFANITY_FILTER (default true).
	ProfanityFilter bool
	// RetentionDays is RETENTION_DAYS: how long events are kept; 0 keeps
	// them forever.
	RetentionDays int
	// LinkTimeout is LINK_TIMEOUT: how often Pushpin calls the next link of
	// an idle held stream (default 60s).
	LinkTimeout time.Duration
	// KeepAlive is KEEP_ALIVE: the idle time after which Pushpin sends a
	// keep-alive comment on a held stream (default 20s).
	KeepAlive time.Duration
	// PresenceTTL is PRESENCE_TTL: how long a visitor stays present after
	// the last invocation of its stream (the hold or a next link); default
	// LinkTimeout + DefaultPresenceSlack, and always more than LinkTimeout,
	// the cadence of those invocations.
	PresenceTTL time.Duration
	// ReconnectSpread is RECONNECT_SPREAD: the span over which the SSE
	// retry field spreads browsers' reconnects after a dropped stream
	// (default 3s). Widen it for rooms of many thousand listeners, whose
	// reconnects would otherwise exceed what one DynamoDB partition reads
	// a second.
	ReconnectSpread time.Duration
}

// Load reads every variable through getenv (os.Getenv in production). It
// fails on a malformed value, naming the variable, but not on a missing one:
// call the Require method of the function being started for that.
func Load(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		AdminKey:        get(EnvAdminKey),
		TableName:       get(EnvTableName),
		DynamoEndpoint:  get(EnvDynamoEndpoint),
		ProfanityFilter: true,
		LinkTimeout:     DefaultLinkTimeout,
		KeepAlive:       DefaultKeepAlive,
		ReconnectSpread: DefaultReconnectSpread,
	}
	var errs []error

	rooms := get(EnvRooms)
	if rooms == "" {
		rooms = chat.DefaultRooms
	}
	rs, err := chat.ParseRooms(rooms)
	if err != nil {
		errs = append(errs, fmt.Errorf("config: %s: %w", EnvRooms, err))
	}
	c.Rooms = rs

	for _, k := range strings.Split(get(EnvAPIKeys), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}

	if c.TableName != "" && len(c.TableName) < 3 {
		errs = append(errs, fmt.Errorf("config: %s: table name %q is shorter than 3 characters", EnvTableName, c.TableName))
	}
	if c.DynamoEndpoint != "" && !strings.HasPrefix(c.DynamoEndpoint, "http://") && !strings.HasPrefix(c.DynamoEndpoint, "https://") {
		errs = append(errs, fmt.Errorf("config: %s: %q is not an http(s) URL", EnvDynamoEndpoint, c.DynamoEndpoint))
	}

	if v := get(EnvProfanityFilter); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %q is not a boolean", EnvProfanityFilter, v))
		}
		c.ProfanityFilter = b
	}
	if v := get(EnvRetentionDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("config: %s: %q is not a whole number of days >= 0", EnvRetentionDays, v))
		}
		c.RetentionDays = n
	}
	if v := get(EnvLinkTimeout); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", EnvLinkTimeout, err))
		}
		c.LinkTimeout = d
	}
	if v := get(EnvKeepAlive); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", EnvKeepAlive, err))
		}
		c.KeepAlive = d
	}
	if v := get(EnvReconnectSpread); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", EnvReconnectSpread, err))
		}
		c.ReconnectSpread = d
	}
	c.PresenceTTL = c.LinkTimeout + DefaultPresenceSlack
	if v := get(EnvPresenceTTL); v != "" {
		d, err := parseSeconds(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("config: %s: %w", EnvPresenceTTL, err))
		case d <= c.LinkTimeout:
			errs = append(errs, fmt.Errorf("config: %s: %s must be longer than %s (%s): each stream refreshes its presence once per link timeout", EnvPresenceTTL, d, EnvLinkTimeout, c.LinkTimeout))
		}
		c.PresenceTTL = d
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseSeconds reads a positive duration given as whole seconds ("120") or
// as a Go duration ("2m"). GRIP headers carry whole seconds, so a duration
// that is not a whole number of seconds is refused.
func parseSeconds(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Past this, n seconds overflow time.Duration and could wrap
		// around to a small positive value ((2^55+1) s is 1 s).
		if n < 1 || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q must be a whole number of seconds >= 1", v)
		}
		d = time.Duration(n) * time.Second
	} else {
		d, err = time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%q is neither whole seconds nor a duration such as 120s", v)
		}
	}
	if d < time.Second || d%time.Second != 0 {
		return 0, fmt.Errorf("%q must be a whole number of seconds >= 1", v)
	}
	return d, nil
}

// RequireSend checks what the send function needs of this package: the
// table and at least one API key. ADMIN_KEY is optional: without it the
// admin routes refuse every request. Where to publish is
// grip.PublishConfigFromEnv's to check.
func (c Config) RequireSend() error {
	var errs []error
	if err := c.requireTable(); err != nil {
		errs = append(errs, err)
	}
	if len(c.APIKeys) == 0 {
		errs = append(errs, Missing(EnvAPIKeys, "the send function needs at least one API key"))
	}
	return errors.Join(errs...)
}

// RequireHistory checks what the history function needs: the table.
func (c Config) RequireHistory() error { return c.requireTable() }

// RequireStream checks what the stream function needs of this package: the
// table. The key that verifies Grip-Sig is grip.VerifierConfigFromEnv's to
// check.
func (c Config) RequireStream() error { return c.requireTable() }

func (c Config) requireTable() error {
	if c.TableName == "" {
		return Missing(EnvTableName, "the DynamoDB table of the chat")
	}
	return nil
}

// Missing returns the error about a required variable name that is not set,
// wrapping ErrMissing, with why it is needed.
func Missing(name, why string) error {
	return fmt.Errorf("%w: %s (%s)", ErrMissing, name, why)
}
