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
}

// DynamoDB is a running DynamoDB Local. It runs with -sharedDb, so every client sees the same tables
// whatever its credentials and region, and with telemetry off. Table names need 3 or more characters.
type DynamoDB struct {
	cfg  DynamoConfig
	proc *process
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
	cmd := exec.Command(java, args...)
	cmd.Dir = workDir
	proc, err := startProcess("dynamodb-local", cmd, cfg.Log)
	if err != nil {
		return nil, err
	}
	d := &DynamoDB{cfg: cfg, proc: proc}
	if err := proc.waitReady(ctx, "http", d.answers); err != nil {
		_ = proc.stop()
		return nil, err
	}
	return d, nil
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

// Pid returns the process id of the java process.
func (d *DynamoDB) Pid() int { return d.proc.pid() }

// Stop stops DynamoDB Local. In-memory data is lost; DataDir is kept.
func (d *DynamoDB) Stop() error { return d.proc.stop() }
