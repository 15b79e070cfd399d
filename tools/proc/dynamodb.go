package proc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// DynamoConfig configures one DynamoDB Local instance.
type DynamoConfig struct {
	// Port is the HTTP port; 0 picks a free one. DynamoDB Local has no host option: it listens on all
	// interfaces.
	Port int
	// DataDir keeps the data on disk (-dbPath); "" keeps it in memory (-inMemory).
	DataDir string
	// Log receives DynamoDB Local's output; nil discards it.
	Log io.Writer
	// Root is the checkout whose .cache holds DynamoDB Local; "" is RepoRoot's (the working
	// directory's).
	Root string
	// OnExit, when not nil, is called from another goroutine as soon as DynamoDB Local exits without
	// Stop or Restart having asked it to; the error describes the exit and the last output.
	OnExit func(error)
}

// DynamoDB is a running DynamoDB Local. It runs with -sharedDb, so every client sees the same tables
// whatever its credentials and region, and with telemetry off. Table names need 3 or more characters.
// It gets SIGKILL when the process that started it dies. Its methods are safe for concurrent use.
//
// Restart keeps the port and the data directory. Restart and Stop lose in-memory data; data in
// DataDir is kept.
type DynamoDB struct {
	supervised
	cfg  DynamoConfig
	java string
	args []string
	dir  string // working directory
}

// StartDynamoDB starts DynamoDB Local and returns once it answers HTTP.
func StartDynamoDB(ctx context.Context, cfg DynamoConfig) (*DynamoDB, error) {
	java, err := JavaPath()
	if err != nil {
		return nil, err
	}
	dir, err := dynamoDBLocalDirIn(cfg.Root)
	if err != nil {
		return nil, err
	}
	if cfg.Port, err = portOrFree(cfg.Port); err != nil {
		return nil, fmt.Errorf("proc: dynamodb port: %w", err)
	}
	args := []string{
		// Startup speed over peak throughput: the C1 compiler only, and no extra GC threads.
		"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-port", strconv.Itoa(cfg.Port),
		"-disableTelemetry",
		"-sharedDb",
	}
	workDir := os.TempDir()
	if cfg.DataDir == "" {
		args = append(args, "-inMemory")
	} else {
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("proc: dynamodb data dir %s: %w", cfg.DataDir, err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("proc: make dynamodb data dir: %w", err)
		}
		cfg.DataDir, workDir = abs, abs
		args = append(args, "-dbPath", abs)
	}
	d := &DynamoDB{cfg: cfg, java: java, args: args, dir: workDir}
	d.supervised = supervised{name: "dynamodb-local", log: cfg.Log, onExit: cfg.OnExit, launch: d.start}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// start runs java and waits until DynamoDB Local answers.
func (d *DynamoDB) start(ctx context.Context) error {
	cmd := exec.Command(d.java, d.args...)
	cmd.Dir = d.dir
	return d.run(ctx, cmd, func(ctx context.Context, proc *process) error {
		return proc.waitReady(ctx, "http", d.answers)
	})
}

// answers succeeds once DynamoDB Local answers HTTP: a POST without an operation gets a 4xx.
func (d *DynamoDB) answers(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint(), strings.NewReader("{}"))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		return fmt.Errorf("unexpected answer %s", resp.Status)
	}
	return nil
}

// Endpoint returns the base URL to give the SDK (BaseEndpoint), "http://127.0.0.1:PORT".
func (d *DynamoDB) Endpoint() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(d.cfg.Port))
}

// Config returns the configuration in effect, with the chosen port filled in.
func (d *DynamoDB) Config() DynamoConfig { return d.cfg }
