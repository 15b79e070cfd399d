// Command soak runs the chat on the local stack under load and faults for
// a bounded time and reports whether every event still reached every
// listener exactly once and in order, how late, and how the stack
// recovered (`make soak`). It writes a markdown report to stdout and to
// test-output/soak.md, and exits non-zero when an event was lost,
// duplicated or delivered out of order.
//
// Modes (-mode):
//
//   - soak: N listeners on one room that disconnect at random and resume
//     with Last-Event-ID, concurrent senders plus bursts, a faulty relay on
//     the publish path (drops, delays, duplicates and reorders a share of
//     publishes), Pushpin killed with SIGKILL and DynamoDB Local stopped
//     from outside mid-run (the stack's supervisor restarts both);
//   - storm: N listeners connect at once, then Pushpin is killed so that
//     all of them reconnect at once; errors, time to all connected and
//     stream invocations, then one message to every listener;
//   - contention: W writers send to one room back to back; how many sends
//     the server answered 503, and whether any failed from the page's
//     point of view (it resends a 503 with Retry-After).
//
// The stack runs in this process (stack.Start, free ports, a temporary
// state directory) and everything it starts is stopped before exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// config is what one run does.
type config struct {
	Mode      string
	Duration  time.Duration
	Listeners int
	Senders   int
	// Rate is the steady messages per second of all senders together.
	Rate float64
	// Burst messages are sent at once every BurstEvery.
	Burst      int
	BurstEvery time.Duration
	// DropEvery is the mean time between a listener's disconnects.
	DropEvery time.Duration
	Faults    relayFaults
	// KillPushpin and StopDynamo inject the process faults (soak, storm).
	KillPushpin, StopDynamo bool
	// Drain bounds the wait, after the senders stop, for every listener to
	// have every event.
	Drain time.Duration
	// Writers is the contention mode's writer count.
	Writers int
	// IdleTimeout is the stack's keep-alive idle timeout (0: its default).
	IdleTimeout time.Duration
	// Immediate makes storm listeners reconnect at once after a dropped
	// stream, ignoring the server's retry field.
	Immediate bool
}

const room = "soak"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	out := flag.String("out", "test-output/soak.md", "file the markdown report is also written to (\"\" for none)")
	logPath := flag.String("log", "test-output/soak-stack.log", "file the local stack's logs go to")
	flag.StringVar(&cfg.Mode, "mode", "soak", "soak, storm or contention")
	flag.DurationVar(&cfg.Duration, "duration", 2*time.Minute, "how long the load runs (soak, contention)")
	flag.IntVar(&cfg.Listeners, "listeners", 200, "SSE listeners (soak, storm)")
	flag.IntVar(&cfg.Senders, "senders", 4, "concurrent senders (soak)")
	flag.Float64Var(&cfg.Rate, "rate", 4, "steady messages per second, all senders together (soak)")
	flag.IntVar(&cfg.Burst, "burst", 20, "messages per burst (soak)")
	flag.DurationVar(&cfg.BurstEvery, "burst-every", 20*time.Second, "time between bursts (soak)")
	flag.DurationVar(&cfg.DropEvery, "drop-every", 30*time.Second, "mean time between a listener's disconnects on purpose (soak; 0: none)")
	flag.Float64Var(&cfg.Faults.Drop, "drop", 0.05, "share of publishes the relay drops")
	flag.Float64Var(&cfg.Faults.Delay, "delay", 0.05, "share of publishes the relay delivers 0.2-3 s late")
	flag.Float64Var(&cfg.Faults.Dup, "dup", 0.05, "share of publishes the relay delivers twice")
	flag.Float64Var(&cfg.Faults.Reorder, "reorder", 0.05, "share of publishes the relay holds back behind the next one")
	flag.BoolVar(&cfg.KillPushpin, "kill-pushpin", true, "kill Pushpin with SIGKILL mid-run (soak, storm)")
	flag.BoolVar(&cfg.StopDynamo, "stop-dynamodb", true, "stop DynamoDB Local from outside (SIGTERM) mid-run (soak)")
	flag.DurationVar(&cfg.Drain, "drain", 60*time.Second, "bound for the last events to reach every listener")
	flag.IntVar(&cfg.Writers, "writers", 20, "concurrent writers on one room (contention)")
	flag.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "the edge's and API emulator's keep-alive idle timeout (0: the stack's default; 1h shows what a wave leaves without it)")
	flag.BoolVar(&cfg.Immediate, "immediate", false, "storm listeners reconnect at once after a drop, not after the server's retry field (the unjittered baseline)")
	timeout := flag.Duration("timeout", 30*time.Minute, "bound for the whole run")
	flag.Parse()
	if cfg.Mode != "soak" && cfg.Mode != "storm" && cfg.Mode != "contention" {
		return fmt.Errorf("-mode %q: want soak, storm or contention", cfg.Mode)
	}
	progress := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := load.RaiseNoFile(uint64(cfg.Listeners)*3 + 1024); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	root, err := proc.RepoRoot()
	if err != nil {
		return err
	}
	logFile, err := createFile(*logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	restarts := &lineCounter{out: logFile, needle: []byte(`"msg":"child restarted"`)}
	calls := load.NewCallCounter(restarts)
	rl, err := startRelay(cfg.Faults)
	if err != nil {
		return err
	}
	state, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	progress.Info("starting the local stack", "mode", cfg.Mode)
	st, err := stack.Start(ctx, stack.Config{
		Root:     root,
		Template: filepath.Join(root, "template.yaml"),
		StateDir: state,
		APIKeys:  stack.DefaultAPIKey,
		AdminKey: stack.DefaultAdminKey,
		SigKey:   stack.DefaultSigKey,
		Env: map[string]string{
			"ROOMS":     room + ":Soak,floor:Floor",
			"LOG_LEVEL": "INFO",
			"GRIP_URL":  rl.URL(),
			// The load's users must not meet their abuse limits.
			"RATE_LIMITS": "send=60000/1m/10000",
		},
		Log:         calls,
		IdleTimeout: cfg.IdleTimeout,
	})
	if err != nil {
		rl.close()
		return fmt.Errorf("start the local stack: %w", err)
	}
	rl.target = st.PublishURL()
	r := &runner{cfg: cfg, st: st, relay: rl, calls: calls, restartLog: restarts, progress: progress, started: time.Now(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		listenClient: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: -1, DisableCompression: true, ResponseHeaderTimeout: 30 * time.Second,
		}},
	}
	rep, runErr := r.run(ctx)
	progress.Info("stopping the local stack")
	if err := st.Stop(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stop the local stack: %w", err))
	}
	rl.close()
	if rep != nil {
		var b strings.Builder
		rep.write(&b)
		fmt.Print(b.String())
		if *out != "" {
			if err := writeFile(*out, b.String()); err != nil {
				runErr = errors.Join(runErr, err)
			}
		}
		if rep.failed() {
			runErr = errors.Join(runErr, errors.New("events were lost, duplicated or out of order, or sends failed (see the report)"))
		}
	}
	return runErr
}

// runner is one run against the running stack.
type runner struct {
	cfg                  config
	st                   *stack.Stack
	relay                *relay
	calls                *load.CallCounter
	restartLog           *lineCounter
	progress             *slog.Logger
	client, listenClient *http.Client
	started              time.Time
}

func (r *runner) run(ctx context.Context) (*report, error) {
	rep := &report{cfg: r.cfg, date: r.started, machine: load.Machine()}
	var err error
	switch r.cfg.Mode {
	case "soak":
		err = r.soak(ctx, rep)
	case "storm":
		err = r.storm(ctx, rep)
	case "contention":
		err = r.contention(ctx, rep)
	}
	rep.elapsed = time.Since(r.started)
	rep.err = err
	return rep, err
}

// createFile creates path and its directory.
func createFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("make directory of %s: %w", path, err)
	}
	return os.Create(path)
}

// writeFile writes s to path, making its directory.
func writeFile(path, s string) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, s); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
