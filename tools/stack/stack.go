package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/wire"
	"github.com/fanout-chat/serverless-chat/tools/apigw"
	"github.com/fanout-chat/serverless-chat/tools/edge"
	"github.com/fanout-chat/serverless-chat/tools/proc"
)

// Stack is a running local stack. Its methods are safe for concurrent use,
// except Stop and what is done through Pushpin().
type Stack struct {
	cfg     Config
	log     *slog.Logger
	logs    *LogMux
	dynamo  *proc.DynamoDB
	pushpin *proc.Pushpin
	ries    []*proc.RIE
	servers []*http.Server
	done    []chan struct{}
	apiURL  string
	table   string
	tmpDirs []string
	lock    *stateLock
	// tmpl and envs are the parsed template and each function's resolved
	// environment.
	tmpl *apigw.Template
	envs map[string]map[string]string
	// super restarts the child processes when they die.
	super *supervisor
	// conns counts the open connections of the served parts.
	conns *connCounter
}

// Start starts DynamoDB Local, creates the table from the template's
// TABLE_NAME, starts the functions (in-process, or under the RIE with
// cfg.Bootstrap), the API emulator (unless cfg.ExternalAPI), the edge
// stand-in and Pushpin. A cfg.StateDir held by another running stack fails
// at once with a *StateDirInUseError (wrapping ErrStateDirInUse), and a taken
// port fails before anything starts, with an error wrapping ErrPortTaken.
// The state directory stays locked until Stop. On any failure Start stops
// what it started.
// ctx bounds the start only; the stack runs until Stop.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	// A port picked free (0) can be taken before its server binds it: by
	// another stack or test run starting at the same moment, or as the
	// local end of any outgoing connection. Such a start is retried on new
	// ports; a port the caller chose is never changed.
	auto := false
	for _, p := range cfg.ports() {
		auto = auto || *p.port == 0
	}
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, cfg)
		if err == nil || !auto || attempt == startAttempts || !portCollision(err) || ctx.Err() != nil {
			return s, err
		}
	}
}

// startAttempts bounds the starts of a stack whose free ports were taken
// before its servers bound them.
const startAttempts = 3

// portCollision reports whether err is a server failing to bind its port.
func portCollision(err error) bool {
	// Pushpin's helpers report it in their output ("Address already in
	// use"), which the error carries.
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

// start is one attempt of Start.
func start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logs := NewLogMux(cfg.Log)
	s := &Stack{logs: logs, log: slog.New(slog.NewJSONHandler(logs.Part("devstack"), nil)), conns: newConnCounter()}
	s.super = newSupervisor(s.log)
	defer func() {
		if err != nil {
			if stopErr := s.Stop(); stopErr != nil {
				s.log.Error("stop after failed start", "err", stopErr)
			}
		}
	}()
	if cfg.StateDir != "" {
		// Before the ports: a second stack on the same directory must not
		// touch Pushpin's routes or DynamoDB Local's files, whatever its ports.
		if s.lock, err = lockStateDir(cfg.StateDir); err != nil {
			return nil, err
		}
		// A stack that died without stopping its children (before they
		// died with it, or where setpriv is missing) may have left them
		// holding the ports.
		killed, err := killLeftovers(cfg.StateDir)
		if len(killed) > 0 {
			s.log.Warn("killed processes left by a crashed stack", "processes", describe(killed))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := cfg.resolvePorts(); err != nil {
		return nil, err
	}
	s.cfg = cfg

	tmpl, err := apigw.LoadTemplate(cfg.Template, nil)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	publishURL := "http://" + hostPort(cfg.PublishPort)
	dynamoEndpoint := "http://" + hostPort(cfg.DynamoPort)
	envs, err := LambdaEnvironments(cfg, tmpl, dynamoEndpoint, publishURL, s.log)
	if err != nil {
		return nil, err
	}
	s.tmpl, s.envs = tmpl, envs
	for _, id := range tmpl.FunctionIDs() {
		if t := envs[id][config.EnvTableName]; t != "" {
			s.table = t
			break
		}
	}
	if s.table == "" {
		return nil, errors.New("stack: no function of the template sets TABLE_NAME")
	}

	dynamoDir := ""
	if cfg.StateDir != "" {
		dynamoDir = filepath.Join(cfg.StateDir, "dynamodb")
		if err := os.MkdirAll(dynamoDir, 0o755); err != nil {
			return nil, fmt.Errorf("stack: make %s: %w", dynamoDir, err)
		}
	}
	s.dynamo, err = proc.StartDynamoDB(ctx, proc.DynamoConfig{
		Port: cfg.DynamoPort, DataDir: dynamoDir, Log: logs.Part("dynamodb"), Root: cfg.Root,
		OnExit: s.super.onExit(partDynamo),
	})
	if err != nil {
		return nil, fmt.Errorf("stack: start DynamoDB Local: %w", err)
	}
	s.log.Info("DynamoDB Local up", "endpoint", s.dynamo.Endpoint(), "pid", s.dynamo.Pid(), "data", dynamoDir)
	client, err := wire.NewDynamoClient(ctx, s.dynamo.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("stack: DynamoDB client: %w", err)
	}
	ensureTable := func(ctx context.Context) error {
		if err := dynamo.EnsureTable(ctx, client, s.table, true); err != nil {
			return fmt.Errorf("stack: create table %s: %w", s.table, err)
		}
		return nil
	}
	if err := ensureTable(ctx); err != nil {
		return nil, err
	}
	s.super.add(partDynamo, s.dynamo, ensureTable)
	s.log.Info("table ready", "table", s.table)

	s.apiURL = cfg.ExternalAPI
	if s.apiURL == "" {
		fns, err := s.functions(ctx, cfg.Bootstrap)
		if err != nil {
			return nil, err
		}
		api, err := apigw.NewServer(tmpl, fns, apigw.WithLogger(slog.New(slog.NewJSONHandler(logs.Part("apigw"), nil))))
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		addr, err := s.serve("API emulator", cfg.APIPort, api)
		if err != nil {
			return nil, err
		}
		s.apiURL = "http://" + addr
		s.log.Info("API emulator up", "url", s.apiURL, "routes", len(tmpl.Routes), "bootstrap", cfg.Bootstrap)
	}

	edgeAddr, err := s.startEdge()
	if err != nil {
		return nil, err
	}

	pushpinDir := ""
	if cfg.StateDir != "" {
		pushpinDir = filepath.Join(cfg.StateDir, "pushpin")
	} else if pushpinDir, err = s.tempDir("devstack-pp-"); err != nil {
		// A directory of the stack's own, not one Pushpin makes and removes
		// on Stop, so Pushpin().Stop() followed by Pushpin().Restart() works.
		return nil, err
	}
	s.pushpin, err = proc.StartPushpin(ctx, proc.PushpinConfig{
		HTTPPort:    cfg.PushpinPort,
		PublishPort: cfg.PublishPort,
		Origin:      edgeAddr,
		SigKey:      cfg.SigKey,
		Dir:         pushpinDir,
		Log:         logs.Part("pushpin"),
		OnExit:      s.super.onExit(partPushpin),
		MessageRate: cfg.PushpinMessageRate,
		MessageHWM:  cfg.PushpinMessageHWM,
	})
	if err != nil {
		return nil, fmt.Errorf("stack: start Pushpin: %w", err)
	}
	s.super.add(partPushpin, s.pushpin, nil)
	s.log.Info("Pushpin up", "url", s.pushpin.URL(), "publish", s.pushpin.PublishURL(), "pid", s.pushpin.Pid(), "origin", edgeAddr)
	if cfg.StateDir != "" {
		s.super.record = func() {
			if err := writeChildren(cfg.StateDir, s.Processes()); err != nil {
				s.log.Warn("record children", "err", err)
			}
		}
		s.super.record()
	}
	return s, nil
}

// Names of the stack's child processes, as Pid and Processes know them and
// the supervisor logs them; the RIEs are "rie:<function>".
const (
	partPushpin = "pushpin"
	partDynamo  = "dynamodb"
)

// describe lists processes as "name(pid)".
func describe(ids []proc.ProcessID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s(%d)", id.Name, id.Pid)
	}
	return strings.Join(parts, " ")
}

// startEdge serves the edge stand-in in front of the API and returns its
// address.
func (s *Stack) startEdge() (string, error) {
	target, err := url.Parse(s.apiURL)
	if err != nil {
		return "", fmt.Errorf("stack: API URL %q: %w", s.apiURL, err)
	}
	proxy := edge.NewProxy(target)
	forward := proxy.Rewrite
	proxy.Rewrite = func(r *httputil.ProxyRequest) {
		forward(r)
		identityBehindPushpin(r)
	}
	roomsVar := chat.DefaultRooms
	for _, id := range s.tmpl.FunctionIDs() {
		if v := s.envs[id][config.EnvRooms]; v != "" {
			roomsVar = v
			break
		}
	}
	rooms, err := chat.ParseRooms(roomsVar)
	if err != nil {
		return "", fmt.Errorf("stack: %s: %w", config.EnvRooms, err)
	}
	h, err := edge.New(edge.Config{
		APIKey:      s.cfg.APIKey(),
		DefaultRoom: rooms.Default().Slug,
		Logger:      slog.New(slog.NewJSONHandler(s.logs.Part("edge"), nil)),
	}, proxy)
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	return s.serve("edge stand-in", s.cfg.EdgePort, h)
}

// identityBehindPushpin asks the origin for an uncompressed answer when the
// request came through Pushpin (it carries Pushpin's Grip-Sig).
//
// Measured with Pushpin 1.36 and zurl 1.11 (tools/proc's
// TestPushpinContentCoding): the origin never sees the client's
// Accept-Encoding but always zurl's own "deflate, gzip, br, zstd", and zurl
// decompresses the answer, dropping Content-Encoding but keeping the ETag.
// So no compressed body reaches the browser through the local Pushpin, and a
// gzip answer arrives as the identity body under the ETag of the gzip
// representation. Asking for identity keeps body and ETag matched. Fastly,
// the production path, passes Accept-Encoding and the compressed body on.
func identityBehindPushpin(r *httputil.ProxyRequest) {
	if r.In.Header.Get("Grip-Sig") != "" {
		r.Out.Header.Set("Accept-Encoding", "identity")
	}
}

// tempDir makes a temporary directory that Stop removes.
func (s *Stack) tempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("stack: temporary directory: %w", err)
	}
	s.tmpDirs = append(s.tmpDirs, dir)
	return dir, nil
}

// serve serves h on 127.0.0.1:port and returns the address.
func (s *Stack) serve(name string, port int, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		return "", fmt.Errorf("%w: %d (%s): %v", ErrPortTaken, port, name, err)
	}
	// IdleTimeout closes keep-alive connections nobody uses: after a wave
	// of thousands of listeners, Pushpin's zurl keeps one connection per
	// concurrent request it made to the edge, each holding a goroutine and
	// buffers here, which would otherwise stay open for good.
	idle := s.cfg.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle, ConnState: s.conns.track(name)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "part", name, "err", err)
		}
	}()
	s.servers = append(s.servers, srv)
	s.done = append(s.done, done)
	return ln.Addr().String(), nil
}

// URL is where the chat is served, what the browser opens: Pushpin.
func (s *Stack) URL() string { return s.pushpin.URL() }

// APIURL is the API directly: the API Gateway emulator (or cfg.ExternalAPI),
// without Pushpin or the edge. Requests there need their own x-api-key and
// x-user, and stream requests get 406 (no Grip-Sig).
func (s *Stack) APIURL() string { return s.apiURL }

// EdgeURL is the edge stand-in, Pushpin's origin.
func (s *Stack) EdgeURL() string { return "http://" + hostPort(s.cfg.EdgePort) }

// PublishURL is Pushpin's publish (control) URL, the GRIP_URL the functions
// get unless Config.Env overrides it.
func (s *Stack) PublishURL() string { return s.pushpin.PublishURL() }

// FunctionIDs returns the logical ids of template.yaml's functions, sorted:
// the one list of functions.
func (s *Stack) FunctionIDs() []string { return s.tmpl.FunctionIDs() }

// DynamoEndpoint is DynamoDB Local's endpoint. Clients there must use
// wire.LocalRegion and wire.LocalAccessKeyID to see the stack's table
// (wire.NewDynamoClient does).
func (s *Stack) DynamoEndpoint() string { return s.dynamo.Endpoint() }

// TableName is the chat table, the functions' TABLE_NAME.
func (s *Stack) TableName() string { return s.table }

// Pushpin is the running Pushpin. Restart it, or Stop it and later Restart
// it, to drop every held stream (a reconnect); both keep its ports. Stack's
// Stop stops it whatever its state. Not safe for concurrent use.
func (s *Stack) Pushpin() *proc.Pushpin { return s.pushpin }

// APIKey is the key the edge stand-in sends: the first of Config.APIKeys.
func (s *Stack) APIKey() string { return s.cfg.APIKey() }

// AdminKey is the functions' ADMIN_KEY.
func (s *Stack) AdminKey() string { return s.cfg.AdminKey }

// Config returns the configuration the stack runs with, every 0 port
// replaced by the port chosen.
func (s *Stack) Config() Config {
	c := s.cfg
	c.Env = maps.Clone(s.cfg.Env)
	return c
}

// FunctionEnv returns a copy of the environment the function with that
// logical id runs with (nil for an unknown id).
func (s *Stack) FunctionEnv(logicalID string) map[string]string {
	return maps.Clone(s.envs[logicalID])
}

// pids returns the pid of every process the stack started.
func (s *Stack) pids() []int {
	var out []int
	if s.dynamo != nil {
		out = append(out, s.dynamo.Pid())
	}
	if s.pushpin != nil {
		out = append(out, s.pushpin.Pid())
	}
	for _, r := range s.ries {
		out = append(out, r.Pid())
	}
	return out
}

// Stop stops everything the stack started, in reverse order, each process
// by its pid, waits for the servers to close and removes the temporary
// directories.
func (s *Stack) Stop() error {
	s.super.stop()
	var errs []error
	if s.pushpin != nil {
		if err := s.pushpin.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop Pushpin: %w", err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := len(s.servers) - 1; i >= 0; i-- {
		if err := s.servers[i].Shutdown(ctx); err != nil {
			_ = s.servers[i].Close()
			errs = append(errs, fmt.Errorf("stop server: %w", err))
		}
		<-s.done[i]
	}
	for _, r := range s.ries {
		if err := r.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop RIE: %w", err))
		}
	}
	if s.dynamo != nil {
		if err := s.dynamo.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop DynamoDB Local: %w", err))
		}
	}
	for _, d := range s.tmpDirs {
		_ = os.RemoveAll(d)
	}
	if s.lock != nil && len(errs) == 0 {
		// Everything recorded is stopped: nothing is left for the next stack.
		_ = os.Remove(filepath.Join(s.cfg.StateDir, ChildrenFile))
	}
	// Last: the state directory is free once nothing of this stack uses it.
	if err := s.lock.release(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return nil
}
