package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// maxInvokeResponse bounds what Invoke reads: Lambda's own limit for a synchronous response is 6 MB.
const maxInvokeResponse = 6 << 20

// RIEConfig configures one Lambda Runtime Interface Emulator running one function.
type RIEConfig struct {
	// Bootstrap is the path of the function's built bootstrap binary (see BuildBootstrap).
	Bootstrap string
	// Env is the function's environment ("KEY=value"), added to PATH and HOME; the RIE adds the
	// Lambda variables (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_RUNTIME_API, …).
	Env []string
	// Port is the invoke port; 0 picks a free one.
	Port int
	// Log receives the output of the RIE and of the function; nil discards it.
	Log io.Writer
	// Root is the checkout whose .cache holds the RIE; "" is RepoRoot's (the working directory's).
	Root string
	// OnExit, when not nil, is called from another goroutine as soon as the emulator exits without
	// Stop or Restart having asked it to; the error describes the exit and the last output.
	OnExit func(error)
}

// RIE is a running Lambda Runtime Interface Emulator. It starts the bootstrap on the first invoke and
// runs one invoke at a time.
//
// The emulator gets SIGKILL when the process that started it dies, and the function's process gets
// SIGKILL when the emulator dies. Its methods are safe for concurrent use.
//
// Restart keeps the ports; the next invoke starts the function anew (a cold start). Stop stops the
// function's process too.
type RIE struct {
	supervised
	cfg     RIEConfig
	bin     string
	apiPort int
	client  *http.Client
}

// StartRIE starts the emulator for cfg.Bootstrap and returns once it accepts invokes.
func StartRIE(ctx context.Context, cfg RIEConfig) (*RIE, error) {
	bin, err := riePathIn(cfg.Root)
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("proc: bootstrap path %s: %w", cfg.Bootstrap, err)
	}
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("proc: bootstrap: %w", err)
	}
	cfg.Bootstrap = bootstrap
	// The Runtime API is where the bootstrap polls for invokes; the RIE's default is 127.0.0.1:9001,
	// which two emulators would share. Both ports are picked together so they differ.
	free, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	apiPort := free[1]
	if cfg.Port == 0 {
		cfg.Port = free[0]
	} else if cfg.Port, err = portOrFree(cfg.Port); err != nil {
		return nil, fmt.Errorf("proc: rie port: %w", err)
	}
	if apiPort == cfg.Port {
		apiPort = free[0] // the given port was free too: it was among those picked
	}
	r := &RIE{cfg: cfg, bin: bin, apiPort: apiPort, client: &http.Client{}}
	r.supervised = supervised{name: "aws-lambda-rie", log: cfg.Log, onExit: cfg.OnExit, launch: r.start}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// start runs the emulator and waits until it accepts invokes.
func (r *RIE) start(ctx context.Context) error {
	// Flags come before the bootstrap: the RIE treats every argument after it as the bootstrap's.
	// There is no --help: an unknown flag is ignored and the emulator starts serving. The bootstrap
	// runs under setpriv (when installed) so that it dies with the emulator.
	args := append([]string{
		"--runtime-interface-emulator-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.cfg.Port)),
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.apiPort)),
	}, orphanProof([]string{r.cfg.Bootstrap})...)
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = filepath.Dir(r.cfg.Bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, r.cfg.Env...)
	return r.run(ctx, cmd, func(ctx context.Context, proc *process) error {
		return proc.waitReady(ctx, "invoke port", dialCheck(net.JoinHostPort("127.0.0.1", strconv.Itoa(r.cfg.Port))))
	})
}

// InvokeURL returns the emulator's invoke URL,
// "http://127.0.0.1:PORT/2015-03-31/functions/function/invocations".
func (r *RIE) InvokeURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(r.cfg.Port)) + "/2015-03-31/functions/function/invocations"
}

// Invoke runs the function once with payload and returns its response payload. A function that
// returns an error still answers: its payload is the Lambda error JSON
// ({"errorMessage","errorType"}); only a failed invoke is an error here.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.InvokeURL(), bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("proc: invoke request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("proc: invoke %s: %w", r.cfg.Bootstrap, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInvokeResponse+1))
	if err != nil {
		return nil, fmt.Errorf("proc: read invoke response after %s: %w", time.Since(start), err)
	}
	if len(body) > maxInvokeResponse {
		return nil, fmt.Errorf("proc: invoke response over %d bytes", maxInvokeResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("proc: invoke %s: %s: %s", r.cfg.Bootstrap, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// Config returns the configuration in effect, with the chosen port filled in.
func (r *RIE) Config() RIEConfig { return r.cfg }
