package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/apigw"
	"github.com/fanout-chat/serverless-chat/internal/app"
	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/edge"
	"github.com/fanout-chat/serverless-chat/internal/localstack"
)

// Local defaults of the settings a developer may override from the
// environment.
const (
	defaultAPIKey   = "local-dev-key"
	defaultAdminKey = "local-admin-key"
	defaultSigKey   = "local-grip-sig-key"
)

// stackConfig is everything the local stack needs; loadConfig fills it from
// flags and the environment.
type stackConfig struct {
	// Root is the repository root (template.yaml, functions/).
	Root string
	// Template is the SAM template; EnvVarsFile the `sam local --env-vars`
	// style override file ("" for none).
	Template    string
	EnvVarsFile string
	// StateDir holds DynamoDB Local's data, Pushpin's run directory and
	// built bootstraps; "" keeps DynamoDB in memory and uses temporary
	// directories.
	StateDir string
	// Ports. Host is always 127.0.0.1.
	PushpinPort, PublishPort, APIPort, EdgePort, DynamoPort int
	// Bootstrap runs each function's real bootstrap under the Lambda RIE
	// instead of in-process.
	Bootstrap bool
	// ExternalAPI, when set, is an API already served elsewhere (such as
	// `sam local start-api`): no emulator is started and the edge forwards
	// there.
	ExternalAPI string
	// APIKeys (comma-separated), AdminKey and SigKey (Pushpin's sig_key and
	// the stream function's verify key).
	APIKeys, AdminKey, SigKey string
	// Log receives every part's logs, line-prefixed.
	Log io.Writer
}

// stack is a running local stack.
type stack struct {
	cfg     stackConfig
	log     *slog.Logger
	dynamo  *localstack.DynamoDB
	pushpin *localstack.Pushpin
	ries    []*localstack.RIE
	servers []*http.Server
	done    []chan struct{}
	table   string
	tmpDirs []string
	// tmpl and envs are the parsed template and each function's resolved
	// environment.
	tmpl *apigw.Template
	envs map[string]map[string]string
}

// portUse names what each port is for, in error messages.
func (c stackConfig) ports() []struct {
	name string
	port int
} {
	ps := []struct {
		name string
		port int
	}{
		{"Pushpin", c.PushpinPort},
		{"Pushpin publish", c.PublishPort},
		{"edge stand-in", c.EdgePort},
		{"DynamoDB Local", c.DynamoPort},
	}
	if c.ExternalAPI == "" {
		ps = append(ps, struct {
			name string
			port int
		}{"API emulator", c.APIPort})
	}
	return ps
}

// errPortTaken is wrapped by the error of a start that found a port in use.
var errPortTaken = errors.New("port is taken")

// checkPorts fails, naming the first port in use, before anything starts.
func checkPorts(c stackConfig) error {
	for _, p := range c.ports() {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
		if err != nil {
			return fmt.Errorf("devstack: port %d (%s): %w: %v", p.port, p.name, errPortTaken, err)
		}
		_ = ln.Close()
	}
	return nil
}

// startStack starts DynamoDB Local, creates the table, starts the functions
// (in-process or under the RIE), the API emulator, the edge stand-in and
// Pushpin. On any failure it stops what it started.
func startStack(ctx context.Context, cfg stackConfig) (_ *stack, err error) {
	logs := &logMux{out: cfg.Log}
	s := &stack{cfg: cfg, log: slog.New(slog.NewJSONHandler(logs.part("devstack"), nil))}
	defer func() {
		if err != nil {
			if stopErr := s.stop(); stopErr != nil {
				s.log.Error("stop after failed start", "err", stopErr)
			}
		}
	}()
	if err := checkPorts(cfg); err != nil {
		return nil, err
	}

	tmpl, err := apigw.LoadTemplate(cfg.Template, nil)
	if err != nil {
		return nil, err
	}
	fileVars := apigw.EnvVars{}
	if cfg.EnvVarsFile != "" {
		if fileVars, err = apigw.LoadEnvVars(cfg.EnvVarsFile); err != nil {
			return nil, err
		}
	}

	dynamoDir := ""
	if cfg.StateDir != "" {
		dynamoDir = filepath.Join(cfg.StateDir, "dynamodb")
		if err := os.MkdirAll(dynamoDir, 0o755); err != nil {
			return nil, fmt.Errorf("devstack: make %s: %w", dynamoDir, err)
		}
	}
	s.dynamo, err = localstack.StartDynamoDB(ctx, localstack.DynamoConfig{Port: cfg.DynamoPort, DataDir: dynamoDir, Log: logs.part("dynamodb")})
	if err != nil {
		return nil, fmt.Errorf("devstack: start DynamoDB Local: %w", err)
	}
	s.log.Info("DynamoDB Local up", "endpoint", s.dynamo.Endpoint(), "pid", s.dynamo.Pid(), "data", dynamoDir)

	envs := functionEnvs(tmpl, localEnv(cfg, s.dynamo.Endpoint()).Merge(fileVars), s.log)
	s.tmpl, s.envs = tmpl, envs
	// The in-process functions log through slog's default logger, as their
	// mains set it.
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs.part("functions"), nil)))
	for _, id := range tmpl.FunctionIDs() {
		if t := envs[id][config.EnvTableName]; t != "" {
			s.table = t
			break
		}
	}
	if s.table == "" {
		return nil, errors.New("devstack: no function of the template sets TABLE_NAME")
	}
	client, err := app.NewDynamoClient(ctx, config.Config{DynamoEndpoint: s.dynamo.Endpoint()})
	if err != nil {
		return nil, fmt.Errorf("devstack: DynamoDB client: %w", err)
	}
	if err := dynamo.EnsureTable(ctx, client, s.table, true); err != nil {
		return nil, fmt.Errorf("devstack: create table %s: %w", s.table, err)
	}
	s.log.Info("table ready", "table", s.table)

	apiURL := cfg.ExternalAPI
	if apiURL == "" {
		fns, err := s.functions(ctx, tmpl, envs, logs)
		if err != nil {
			return nil, err
		}
		api, err := apigw.NewServer(tmpl, fns, apigw.WithLogger(slog.New(slog.NewJSONHandler(logs.part("apigw"), nil))))
		if err != nil {
			return nil, err
		}
		addr, err := s.serve("API emulator", cfg.APIPort, api)
		if err != nil {
			return nil, err
		}
		apiURL = "http://" + addr
		s.log.Info("API emulator up", "url", apiURL, "routes", len(tmpl.Routes), "bootstrap", cfg.Bootstrap)
	}

	target, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("devstack: API URL %q: %w", apiURL, err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // API Gateway sees the Host the browser used
		},
		FlushInterval: -1,
	}
	rooms, err := chat.ParseRooms(firstNonEmpty(envs["HistoryFunction"][config.EnvRooms], os.Getenv(config.EnvRooms), chat.DefaultRooms))
	if err != nil {
		return nil, fmt.Errorf("devstack: rooms: %w", err)
	}
	edgeHandler, err := edge.New(edge.Config{
		APIKey:      firstKey(cfg.APIKeys),
		DefaultRoom: rooms.Default().Slug,
		Logger:      slog.New(slog.NewJSONHandler(logs.part("edge"), nil)),
	}, proxy)
	if err != nil {
		return nil, err
	}
	edgeAddr, err := s.serve("edge stand-in", cfg.EdgePort, edgeHandler)
	if err != nil {
		return nil, err
	}

	pushpinDir := ""
	if cfg.StateDir != "" {
		pushpinDir = filepath.Join(cfg.StateDir, "pushpin")
	}
	s.pushpin, err = localstack.StartPushpin(ctx, localstack.PushpinConfig{
		HTTPPort:    cfg.PushpinPort,
		PublishPort: cfg.PublishPort,
		Origin:      edgeAddr,
		SigKey:      cfg.SigKey,
		Dir:         pushpinDir,
		Log:         logs.part("pushpin"),
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: start Pushpin: %w", err)
	}
	s.log.Info("Pushpin up", "url", s.pushpin.URL(), "publish", s.pushpin.PublishURL(), "pid", s.pushpin.Pid(), "origin", edgeAddr)
	return s, nil
}

// functions returns the Function of every template function: its handler
// built in-process from its environment, or its bootstrap under the RIE.
func (s *stack) functions(ctx context.Context, tmpl *apigw.Template, envs map[string]map[string]string, logs *logMux) (map[string]apigw.Function, error) {
	fns := map[string]apigw.Function{}
	bs := builders()
	for _, id := range tmpl.FunctionIDs() {
		env := envs[id]
		if !s.cfg.Bootstrap {
			b, ok := bs[id]
			if !ok {
				return nil, fmt.Errorf("devstack: no in-process constructor for %s (add it to cmd/devstack/functions.go, or use -bootstrap)", id)
			}
			h, err := b(ctx, func(k string) string { return env[k] })
			if err != nil {
				return nil, fmt.Errorf("devstack: build %s: %w", id, err)
			}
			fns[id] = apigw.InProcess(h)
			continue
		}
		outDir, err := s.buildDir(id)
		if err != nil {
			return nil, err
		}
		bin, err := localstack.BuildBootstrap(ctx, functionPackage(id), outDir)
		if err != nil {
			return nil, fmt.Errorf("devstack: build %s: %w", id, err)
		}
		rie, err := localstack.StartRIE(ctx, localstack.RIEConfig{Bootstrap: bin, Env: envList(env), Log: logs.part("rie:" + id)})
		if err != nil {
			return nil, fmt.Errorf("devstack: start %s under the RIE: %w", id, err)
		}
		s.ries = append(s.ries, rie)
		s.log.Info("function under the RIE", "function", id, "invoke", rie.InvokeURL(), "pid", rie.Pid())
		fns[id] = apigw.Remote(rie.InvokeURL(), &http.Client{})
	}
	return fns, nil
}

// buildDir is where a function's bootstrap is built.
func (s *stack) buildDir(id string) (string, error) {
	if s.cfg.StateDir != "" {
		return filepath.Join(s.cfg.StateDir, "build", id), nil
	}
	dir, err := os.MkdirTemp("", "devstack-"+id+"-")
	if err != nil {
		return "", fmt.Errorf("devstack: build dir: %w", err)
	}
	s.tmpDirs = append(s.tmpDirs, dir)
	return dir, nil
}

// serve serves h on 127.0.0.1:port and returns the address.
func (s *stack) serve(name string, port int, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("devstack: port %d (%s): %w: %v", port, name, errPortTaken, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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

// URL is where the chat is served: Pushpin.
func (s *stack) URL() string { return s.pushpin.URL() }

// pids returns the pid of every process the stack started.
func (s *stack) pids() []int {
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

// stop stops everything the stack started, in reverse order, each process
// by its pid, and waits for the servers to close.
func (s *stack) stop() error {
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
	return errors.Join(errs...)
}

// localEnv is the environment every function gets locally: DynamoDB
// Local, Pushpin's publish port and sig_key, the keys, and the chat
// settings given in devstack's own environment.
func localEnv(cfg stackConfig, dynamoEndpoint string) apigw.EnvVars {
	p := map[string]string{
		config.EnvDynamoEndpoint: dynamoEndpoint,
		config.EnvGripURL:        "http://127.0.0.1:" + strconv.Itoa(cfg.PublishPort),
		config.EnvGripVerifyKey:  "base64:" + base64.StdEncoding.EncodeToString([]byte(cfg.SigKey)),
		config.EnvAPIKeys:        cfg.APIKeys,
		config.EnvAdminKey:       cfg.AdminKey,
	}
	for _, name := range []string{config.EnvRooms, config.EnvTableName, config.EnvLinkTimeout, config.EnvProfanityFilter, config.EnvLogLevel, config.EnvRetentionDays} {
		if v := os.Getenv(name); v != "" {
			p[name] = v
		}
	}
	return apigw.EnvVars{"Parameters": p}
}

// functionEnvs resolves each function's environment from the template and
// vars, plus what the Lambda service sets. Like sam local, a variable the
// template does not declare for a function is not set; that is logged.
func functionEnvs(tmpl *apigw.Template, vars apigw.EnvVars, log *slog.Logger) map[string]map[string]string {
	envs := map[string]map[string]string{}
	for _, id := range tmpl.FunctionIDs() {
		env, ignored, _ := tmpl.Environment(id, vars)
		if len(ignored) > 0 {
			log.Debug("not declared by the template for this function; like sam local, not set", "function", id, "variables", ignored)
		}
		fn := tmpl.Functions[id]
		env["AWS_REGION"] = apigw.LocalRegion
		env["AWS_DEFAULT_REGION"] = apigw.LocalRegion
		env["AWS_LAMBDA_FUNCTION_NAME"] = id
		env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(fn.MemorySize)
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(fn.Timeout / time.Second))
		envs[id] = env
	}
	return envs
}

// envList renders an environment map as sorted KEY=value pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func firstKey(keys string) string {
	for _, k := range strings.Split(keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			return k
		}
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
