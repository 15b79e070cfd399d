package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// DefaultSigIss is the issuer Pushpin puts in Grip-Sig unless PushpinConfig.SigIss says otherwise
// (Pushpin's own default).
const DefaultSigIss = "pushpin"

// maxSocketPath is the longest path a unix socket may have on Linux (sun_path holds 108 bytes).
const maxSocketPath = 107

// PushpinConfig configures one Pushpin instance.
type PushpinConfig struct {
	// HTTPPort is where clients connect; 0 picks a free port.
	HTTPPort int
	// PublishPort is Pushpin's HTTP control port (push_in_http_port), where publishers POST to
	// /publish/; 0 picks a free port.
	PublishPort int
	// Origin is the plain-HTTP "host:port" every request is routed to, e.g. "127.0.0.1:3000".
	Origin string
	// SigKey is the HS256 key Pushpin signs the Grip-Sig header it sends to the origin with.
	SigKey string
	// SigIss is the iss claim of that Grip-Sig; "" means DefaultSigIss. The stream function checks it
	// (GRIP_VERIFY_ISS) as production checks Fanout's fastly:<service id>.
	SigIss string
	// Dir is the run directory (config, routes, internal sockets). "" makes a temporary one that Stop
	// removes. Its internal socket paths must fit a unix socket path, so keep it short.
	Dir string
	// Log receives the output of Pushpin and its helpers; nil discards it. Shared writers must be safe
	// for concurrent use.
	Log io.Writer
	// OnExit, when not nil, is called from another goroutine as soon as Pushpin exits without Stop or
	// Restart having asked it to (it was killed, or one of its helpers died and took it down): a
	// supervisor logs it and calls Restart. The error describes the exit and the last output.
	OnExit func(error)
	// MessageRate and MessageHWM are the handler's message_rate (messages written to clients per
	// second) and message_hwm (messages queued before Pushpin drops); 0 means defaultMessageRate and
	// defaultMessageHWM (50,000 and 200,000; Debian's are 2500 and 25000).
	// The benchmark raises them so that delivery to many listeners measures more than the limit.
	MessageRate, MessageHWM int
}

// Pushpin is a running Pushpin: the runner plus the condure, zurl, pushpin-proxy and pushpin-handler
// processes it starts. Besides "* Origin" its routes hold one for the Host localstack-probe.invalid,
// used by the readiness probe. Its methods are safe for concurrent use.
//
// The runner gets SIGKILL when the process that started it dies, and its helpers (each in a process
// group of its own) get SIGKILL when the runner dies, so nothing of it outlives a crash of its user,
// not even a `kill -9`: the helpers are started through wrappers that set their parent-death signal
// (util-linux setpriv; see writeOrphanProofWrappers).
//
// Restart keeps the ports and the run directory and drops held client connections, as a proxy
// restart does; Stop removes the run directory if StartPushpin made it.
type Pushpin struct {
	supervised
	cfg     PushpinConfig
	ownsDir bool
}

// pushpinConf is Pushpin's configuration. The [proxy] and [handler] settings are the stock ones of
// /etc/pushpin/pushpin.conf (Debian pushpin 1.36), with these changes:
//   - every internal socket is ipc under this instance's own rundir, so instances run side by side;
//   - zurl, which makes the requests to the origin, is started by this runner with sockets in the
//     rundir (Debian's internal.conf points at a system zurl daemon; without this every proxied request
//     fails after about 6 s);
//   - the client port and the publish port bind 127.0.0.1 only;
//   - debug=true, for informative error responses;
//   - message_rate and message_hwm from PushpinConfig, by default 50000 and 200000 instead of 2500
//     and 25000 (see defaultMessageRate for why);
//   - message_wait=2000 instead of 5000: how long the proxy holds a publish whose prev-id does not
//     follow, waiting for the one before it. Two senders' publishes arrive out of order by
//     milliseconds, so 2 s still puts them back in order, and a lost publish followed by others is
//     recovered 2 s after them instead of 5 (Fanout's own wait is not ours to set; see
//     docs/architecture.md, Recovery).
const pushpinConf = `[global]
include={libdir}/internal.conf
rundir={{.RunDir}}
ipc_prefix=pushpin-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:{{.HTTPPort}}
logdir={{.RunDir}}
log_level=2
client_buffer_size=8192
client_maxconn=50000
condure_bin={{.CondureBin}}
zurl_bin={{.ZurlBin}}

[proxy]
routesfile={{.RoutesFile}}
debug=true
auto_cross_origin=false
accept_x_forwarded_protocol=false
set_x_forwarded_protocol=proto-only
x_forwarded_for=
x_forwarded_for_trusted=
orig_headers_need_mark=
accept_pushpin_route=false
log_from=false
log_user_agent=false
sig_iss={{.SigIss}}
sig_key={{.SigKey}}
upstream_key=
updates_check=off
organization_name=
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out

[handler]
push_in_spec=ipc://{rundir}/{ipc_prefix}push-in
push_in_sub_specs=ipc://{rundir}/{ipc_prefix}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port={{.PublishPort}}
push_in_http_max_headers_size=10000
push_in_http_max_body_size=1000000
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=ipc://{rundir}/{ipc_prefix}command
message_rate={{.MessageRate}}
message_hwm={{.MessageHWM}}
message_wait=2000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
`

// The message_rate and message_hwm used when PushpinConfig leaves them 0 (Debian's are 2500 and
// 25000), sized so that the proxy's delivery limiter is not what a 2,000-listener benchmark measures:
// a burst of 20 messages to 2,000 listeners is 40,000 deliveries, which Debian's limits spread over
// 16 s and, past the 25,000 queued, drop ("exceeded publish hwm"). At 50,000 per second the CPU is
// the limit, and 200,000 queued deliveries (a few MB) hold five such bursts.
const (
	defaultMessageRate = 50000
	defaultMessageHWM  = 200000
)

var pushpinConfTemplate = template.Must(template.New("pushpin.conf").Parse(pushpinConf))

// longestPushpinSocket is the longest internal socket name Pushpin creates in its rundir.
const longestPushpinSocket = "pushpin-m2zhttp-out-stream"

// StartPushpin writes a configuration for cfg, starts Pushpin in the foreground and returns once the
// proxy, the client port and the publish port are up.
func StartPushpin(ctx context.Context, cfg PushpinConfig) (*Pushpin, error) {
	if _, _, err := net.SplitHostPort(cfg.Origin); err != nil {
		return nil, fmt.Errorf("proc: pushpin origin %q is not host:port: %w", cfg.Origin, err)
	}
	if cfg.SigKey == "" || strings.ContainsAny(cfg.SigKey, "\r\n") {
		return nil, errors.New("proc: pushpin needs a one-line SigKey")
	}
	if cfg.SigIss == "" {
		cfg.SigIss = DefaultSigIss
	}
	if strings.ContainsAny(cfg.SigIss, "\r\n") {
		return nil, errors.New("proc: pushpin SigIss must be one line")
	}
	var err error
	if cfg.HTTPPort, err = portOrFree(cfg.HTTPPort); err != nil {
		return nil, fmt.Errorf("proc: pushpin http port: %w", err)
	}
	if cfg.PublishPort, err = portOrFree(cfg.PublishPort); err != nil {
		return nil, fmt.Errorf("proc: pushpin publish port: %w", err)
	}
	p := &Pushpin{cfg: cfg}
	p.supervised = supervised{name: "pushpin", log: cfg.Log, onExit: cfg.OnExit, launch: p.start, stopped: p.removeDir}
	if p.cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "pushpin-")
		if err != nil {
			return nil, fmt.Errorf("proc: make pushpin dir: %w", err)
		}
		p.cfg.Dir, p.ownsDir = dir, true
	}
	if err := p.writeConfig(); err != nil {
		p.removeDir()
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		p.removeDir()
		return nil, err
	}
	return p, nil
}

// writeConfig writes pushpin.conf and routes into the run directory.
func (p *Pushpin) writeConfig() error {
	dir, err := filepath.Abs(p.cfg.Dir)
	if err != nil {
		return fmt.Errorf("proc: pushpin dir %s: %w", p.cfg.Dir, err)
	}
	p.cfg.Dir = dir
	runDir := filepath.Join(dir, "run")
	if n := len(filepath.Join(runDir, longestPushpinSocket)); n > maxSocketPath {
		return fmt.Errorf("proc: pushpin dir %s is too long for its unix sockets (%d > %d bytes)", dir, n, maxSocketPath)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("proc: make pushpin run dir: %w", err)
	}
	wrappers, err := writeOrphanProofWrappers(p.wrapperDir(), pushpinHelpers...)
	if err != nil {
		return err
	}
	bin := func(name string) string {
		if w := wrappers[name]; w != "" {
			return w
		}
		return name
	}
	routes := p.routesPath()
	var conf bytes.Buffer
	rate, hwm := p.cfg.MessageRate, p.cfg.MessageHWM
	if rate <= 0 {
		rate = defaultMessageRate
	}
	if hwm <= 0 {
		hwm = defaultMessageHWM
	}
	err = pushpinConfTemplate.Execute(&conf, map[string]any{
		"MessageRate": rate,
		"MessageHWM":  hwm,
		"RunDir":      runDir,
		"HTTPPort":    p.cfg.HTTPPort,
		"PublishPort": p.cfg.PublishPort,
		"RoutesFile":  routes,
		"SigKey":      p.cfg.SigKey,
		"SigIss":      p.cfg.SigIss,
		"CondureBin":  bin("condure"),
		"ZurlBin":     bin("zurl"),
	})
	if err != nil {
		return fmt.Errorf("proc: render pushpin.conf: %w", err)
	}
	if err := os.WriteFile(p.confPath(), conf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("proc: write pushpin.conf: %w", err)
	}
	return nil
}

func (p *Pushpin) confPath() string   { return filepath.Join(p.cfg.Dir, "pushpin.conf") }
func (p *Pushpin) routesPath() string { return filepath.Join(p.cfg.Dir, "routes") }
func (p *Pushpin) wrapperDir() string { return filepath.Join(p.cfg.Dir, "bin") }

// pushpinHelpers are the programs Pushpin's runner starts. condure and zurl are found through the
// configuration (condure_bin, zurl_bin), pushpin-proxy and pushpin-handler through PATH.
var pushpinHelpers = []string{"condure", "zurl", "pushpin-proxy", "pushpin-handler"}

// probeHost is the Host header of readiness probes; its route leads to the probe origin.
const probeHost = "localstack-probe.invalid"

// writeRoutes routes probe requests to probeAddr and everything else to the origin.
func (p *Pushpin) writeRoutes(probeAddr string) error {
	routes := probeHost + " " + probeAddr + "\n* " + p.cfg.Origin + "\n"
	if err := os.WriteFile(p.routesPath(), []byte(routes), 0o644); err != nil {
		return fmt.Errorf("proc: write pushpin routes: %w", err)
	}
	return nil
}

// start runs the pushpin runner and waits until it serves.
func (p *Pushpin) start(ctx context.Context) error {
	bin, err := PushpinPath()
	if err != nil {
		return err
	}
	probe, err := newProbeOrigin()
	if err != nil {
		return err
	}
	defer probe.close()
	if err := p.writeRoutes(probe.addr); err != nil {
		return err
	}
	// -m merges the helpers' output into the runner's, so Log gets all of it.
	cmd := exec.Command(bin, "--config", p.confPath(), "--merge-output")
	cmd.Dir = p.cfg.Dir
	// The runner finds pushpin-proxy and pushpin-handler on PATH: the wrappers come first.
	cmd.Env = append(os.Environ(), "PATH="+p.wrapperDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	return p.run(ctx, cmd, p.waitReady)
}

// waitReady waits until the publish port answers and a request held through the whole pipeline
// (condure, proxy, zurl, origin, handler) streams back. Open ports alone are not enough: for a moment
// after start the proxy can lose a request on its way to the handler, and the client then hangs.
func (p *Pushpin) waitReady(ctx context.Context, proc *process) error {
	if err := proc.waitReady(ctx, "publish port", func(ctx context.Context) error {
		// An empty publish is accepted once the handler serves.
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.PublishURL()+"/publish/", strings.NewReader(`{"items":[]}`))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("publish answered %s", resp.Status)
		}
		return nil
	}); err != nil {
		return err
	}
	return proc.waitReady(ctx, "a held probe request", p.probe)
}

// probeTimeout bounds one probe attempt; a lost probe request would otherwise hang.
const probeTimeout = 500 * time.Millisecond

// probe sends one request through Pushpin to the probe origin and reads the held stream's first line.
func (p *Pushpin) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/", nil)
	if err != nil {
		return err
	}
	req.Host = probeHost
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read probe stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK || line != probeBody {
		return fmt.Errorf("probe answered %s %q", resp.Status, line)
	}
	return nil
}

// probeBody is what the probe origin sends on its held stream.
const probeBody = "ready\n"

// probeOrigin is the origin of readiness probes: it holds each request as a stream and sends
// probeBody.
type probeOrigin struct {
	addr string
	srv  *http.Server
}

func newProbeOrigin() (*probeOrigin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proc: listen for pushpin probe: %w", err)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Grip-Hold", "stream")
			w.Header().Set("Grip-Channel", "localstack-probe")
			_, _ = io.WriteString(w, probeBody)
		}),
	}
	go func() { _ = srv.Serve(l) }()
	return &probeOrigin{addr: l.Addr().String(), srv: srv}, nil
}

func (o *probeOrigin) close() { _ = o.srv.Close() }

func (p *Pushpin) addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// URL returns the client-facing base URL, "http://127.0.0.1:HTTPPort".
func (p *Pushpin) URL() string { return "http://" + p.addr(p.cfg.HTTPPort) }

// PublishURL returns the base URL of the publish (control) port, without a trailing slash;
// publishers POST to PublishURL()+"/publish/".
func (p *Pushpin) PublishURL() string { return "http://" + p.addr(p.cfg.PublishPort) }

// Config returns the configuration in effect, with chosen ports and run directory filled in.
func (p *Pushpin) Config() PushpinConfig { return p.cfg }

// removeDir removes the run directory if StartPushpin made it.
func (p *Pushpin) removeDir() {
	if p.ownsDir {
		_ = os.RemoveAll(p.cfg.Dir)
	}
}
