package stack

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Local defaults of the keys; a developer may override each from the
// environment (tools/cmd/devstack reads API_KEYS, ADMIN_KEY and GRIP_SIG_KEY).
const (
	DefaultAPIKey   = "local-dev-key"
	DefaultAdminKey = "local-admin-key"
	DefaultSigKey   = "local-grip-sig-key"
)

// Default ports of `make dev`: SAM's API port, Pushpin's usual ports and
// DynamoDB Local's.
const (
	DefaultPushpinPort = 7999
	DefaultPublishPort = 5561
	DefaultAPIPort     = 3000
	DefaultEdgePort    = 3001
	DefaultDynamoPort  = 8000
)

// Config is everything a local stack needs.
type Config struct {
	// Root is the repository checkout, whose template.yaml, dev/env.json and
	// .dev DefaultConfig names: bootstraps are built there and DynamoDB Local
	// and the RIE are found under its .cache. "" is the checkout
	// proc.RepoRoot finds from the working directory.
	Root string
	// Template is the SAM template.
	Template string
	// EnvVarsFile is a `sam local --env-vars` style override file; "" or a
	// missing file is no override.
	EnvVarsFile string
	// StateDir holds DynamoDB Local's data, Pushpin's run directory and
	// built bootstraps; "" keeps DynamoDB in memory and uses temporary
	// directories that Stop removes. A running stack locks it (LockFile):
	// one state directory serves one stack at a time.
	StateDir string
	// Ports, all on 127.0.0.1; 0 picks a free port when Start runs (see
	// Stack.Config for the ports chosen).
	PushpinPort, PublishPort, APIPort, EdgePort, DynamoPort int
	// Bootstrap runs each function's real bootstrap under the Lambda RIE
	// instead of in-process.
	Bootstrap bool
	// ExternalAPI, when set, is an API already served elsewhere (such as
	// `sam local start-api`): no emulator is started and the edge forwards
	// there.
	ExternalAPI string
	// APIKeys (comma-separated), AdminKey, and SigKey (Pushpin's sig_key
	// and the stream function's verify key).
	APIKeys, AdminKey, SigKey string
	// Env is extra environment for the functions, applied last: over the
	// stack's own settings (GRIP_URL, DYNAMODB_ENDPOINT, keys …) and over
	// EnvVarsFile. As with `sam local --env-vars`, a variable reaches exactly
	// the functions whose template environment declares it (ROOMS, TABLE_NAME
	// and LOG_LEVEL are in Globals, so every function, web included; GRIP_URL
	// reaches send and stream; LINK_TIMEOUT stream). Start fails on a
	// variable that no function declares, rather than drop it silently.
	Env map[string]string
	// Log receives every part's logs, line-prefixed with the part's name;
	// nil discards them.
	Log io.Writer
	// IdleTimeout closes the keep-alive connections to the edge stand-in
	// and the API emulator after that long unused; 0 is DefaultIdleTimeout.
	IdleTimeout time.Duration
	// PushpinMessageRate and PushpinMessageHWM raise Pushpin's
	// message_rate and message_hwm (proc.PushpinConfig); 0 keeps Debian's.
	PushpinMessageRate, PushpinMessageHWM int
}

// DefaultIdleTimeout is how long the edge stand-in and the API emulator
// keep an unused keep-alive connection open.
const DefaultIdleTimeout = 10 * time.Second

// DefaultConfig is the configuration of `make dev` in the checkout at root:
// its template.yaml and dev/env.json, state under .dev, the fixed local
// ports (Pushpin 7999, publish 5561, API 3000, edge 3001, DynamoDB 8000) and
// the default keys.
func DefaultConfig(root string) Config {
	return Config{
		Root:        root,
		Template:    filepath.Join(root, "template.yaml"),
		EnvVarsFile: filepath.Join(root, "dev", "env.json"),
		StateDir:    filepath.Join(root, ".dev"),
		PushpinPort: DefaultPushpinPort,
		PublishPort: DefaultPublishPort,
		APIPort:     DefaultAPIPort,
		EdgePort:    DefaultEdgePort,
		DynamoPort:  DefaultDynamoPort,
		APIKeys:     DefaultAPIKey,
		AdminKey:    DefaultAdminKey,
		SigKey:      DefaultSigKey,
	}
}

// APIKey returns the first of the comma-separated APIKeys: the one the edge
// stand-in sends.
func (c Config) APIKey() string {
	for _, k := range strings.Split(c.APIKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			return k
		}
	}
	return ""
}

// portUse is one port of the stack and what it is for.
type portUse struct {
	name string
	port *int
}

// ports lists the stack's ports, named for error messages.
func (c *Config) ports() []portUse {
	ps := []portUse{
		{"Pushpin", &c.PushpinPort},
		{"Pushpin publish", &c.PublishPort},
		{"edge stand-in", &c.EdgePort},
		{"DynamoDB Local", &c.DynamoPort},
	}
	if c.ExternalAPI == "" {
		ps = append(ps, portUse{"API emulator", &c.APIPort})
	}
	return ps
}

// ErrPortTaken is wrapped by the error of a Start that found a port in use;
// the error names the port and what it is for.
var ErrPortTaken = errors.New("stack: port is taken")

// resolvePorts gives every 0 port a free one, then fails, naming the first
// port in use, before anything starts.
func (c *Config) resolvePorts() error {
	given := map[int]string{}
	var zero []portUse
	for _, p := range c.ports() {
		switch other, dup := given[*p.port]; {
		case *p.port == 0:
			zero = append(zero, p)
		case dup:
			return fmt.Errorf("%w: %d is given for both %s and %s", ErrPortTaken, *p.port, other, p.name)
		default:
			given[*p.port] = p.name
		}
	}
	// Picked together, the free ports differ from each other; one that a
	// given port already claims (it was free, so it can come back) is
	// skipped.
	free, err := proc.FreePorts(len(zero) + len(given))
	if err != nil {
		return fmt.Errorf("stack: free ports: %w", err)
	}
	for _, p := range zero {
		for given[free[0]] != "" {
			free = free[1:]
		}
		*p.port, free = free[0], free[1:]
	}
	for _, p := range c.ports() {
		ln, err := net.Listen("tcp", hostPort(*p.port))
		if err != nil {
			return fmt.Errorf("%w: %d (%s): %v", ErrPortTaken, *p.port, p.name, err)
		}
		_ = ln.Close()
	}
	return nil
}

func (c Config) validate() error {
	switch {
	case c.Template == "":
		return errors.New("stack: Config.Template is empty")
	case c.APIKey() == "":
		return errors.New("stack: Config.APIKeys is empty")
	case c.AdminKey == "":
		return errors.New("stack: Config.AdminKey is empty")
	case c.SigKey == "":
		return errors.New("stack: Config.SigKey is empty")
	}
	return nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
