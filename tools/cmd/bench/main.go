// Command bench measures the chat end to end on one machine and writes a
// markdown report to stdout and to test-output/bench.md (`make bench-e2e`).
//
// It starts the whole local stack (stack.Start: Pushpin, the edge
// stand-in, the API Gateway emulator with the functions in-process, DynamoDB
// Local in memory, all on free 127.0.0.1 ports) and measures:
//
//   - fan-out: N SSE listeners through Pushpin (N = 1, 10, 100, 1000), M
//     messages sent one at a time through Pushpin as the edge would send
//     them; per message the send's round trip (the origin's work) and the
//     delivery to the last listener, with the send and stream invocations
//     the origin served meanwhile;
//   - the baseline of the same run: frames published straight to Pushpin's
//     publish port to the same number of listeners (no Lambda, no DynamoDB);
//   - reads: a history page of 20 and a stream hold (connect → first byte,
//     and a 20-event resume) through Pushpin, against GET /rooms, which
//     reaches no store;
//   - cold start: each function's real bootstrap under the Lambda RIE,
//     process start → first answered invoke, and its peak RSS;
//   - the linux/arm64 deployment binaries' sizes.
//
// Every loop is bounded, all traffic stays on 127.0.0.1, and everything the
// command starts is stopped by pid before it exits, also on Ctrl-C.
package main

import (
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/tools/load"

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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// benchConfig is what one run measures.
type benchConfig struct {
	// Listeners are the listener counts of the fan-out, ascending; the first
	// is the baseline of the send ratio.
	Listeners []int
	// Messages is the measured messages per fan-out row, Warmup the
	// unmeasured ones before them (and the unmeasured reads).
	Messages, Warmup int
	// Reads is the requests per read row; ColdRuns the cold starts per
	// function.
	Reads, ColdRuns int
	// ConnectParallel bounds the listeners being opened at once.
	ConnectParallel int
	// DeliveryTimeout bounds the wait for one message to reach every
	// listener.
	DeliveryTimeout time.Duration
	// SkipCold and SkipSizes leave out the cold starts and the arm64 builds.
	SkipCold, SkipSizes bool
	// Concurrency are the concurrencies of the throughput rows, Requests the
	// measured requests of each; SkipThroughput leaves them out.
	Concurrency    []int
	Requests       int
	SkipThroughput bool
	// PushpinRate and PushpinHWM are Pushpin's message_rate and
	// message_hwm for the run (0: Debian's 2500 and 25000).
	PushpinRate, PushpinHWM int
}

// bench is one run: the stack and the clients that talk to it.
type bench struct {
	cfg   benchConfig
	stack *stack.Stack
	// client sends requests (keep-alive, as a browser); listenClient holds
	// the listeners' connections, one each.
	client, listenClient *http.Client
	calls                *load.CallCounter
	// dtap and ptap sit between the functions and DynamoDB Local, and
	// between the send function and Pushpin's publish port.
	dtap *dynamoTap
	ptap *publishTap
	// raw publishes the baseline's frames straight to Pushpin with the
	// product's publisher.
	raw *grip.Publisher
	// stackLog receives the logs of the stack and of the RIEs.
	stackLog io.Writer
	progress *slog.Logger
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg       benchConfig
		listeners = flag.String("listeners", "1,10,100,1000", "comma-separated listener counts of the fan-out, ascending")
		out       = flag.String("out", "test-output/bench.md", "file the markdown report is also written to (\"\" for none)")
		logPath   = flag.String("log", "test-output/bench-stack.log", "file the local stack's logs go to (\"\" discards them)")
		timeout   = flag.Duration("timeout", 20*time.Minute, "bound for the whole run")
		conc      = flag.String("concurrency", "1,8,64", "comma-separated concurrencies of the throughput rows, ascending")
		costOut   = flag.String("cost-out", "", "run the cost workload instead and write the priced report to this file (make cost: docs/cost.md)")
	)
	flag.IntVar(&cfg.Messages, "messages", 50, "measured messages per fan-out row")
	flag.IntVar(&cfg.Warmup, "warmup", 3, "unmeasured messages and requests before each row")
	flag.IntVar(&cfg.Reads, "reads", 50, "requests per read row")
	flag.IntVar(&cfg.ColdRuns, "cold-runs", 5, "cold starts per function")
	flag.IntVar(&cfg.ConnectParallel, "connect-parallel", 32, "listeners opened at once")
	flag.DurationVar(&cfg.DeliveryTimeout, "delivery-timeout", 10*time.Second, "bound for one message to reach every listener")
	flag.BoolVar(&cfg.SkipCold, "skip-cold", false, "leave out the cold starts under the RIE")
	flag.BoolVar(&cfg.SkipSizes, "skip-sizes", false, "leave out the linux/arm64 builds")
	flag.IntVar(&cfg.Requests, "requests", 300, "measured requests per throughput row")
	flag.BoolVar(&cfg.SkipThroughput, "skip-throughput", false, "leave out the throughput rows")
	flag.IntVar(&cfg.PushpinRate, "pushpin-rate", 1_000_000, "Pushpin's message_rate for the run (0: Debian's 2500/s)")
	flag.IntVar(&cfg.PushpinHWM, "pushpin-hwm", 1_000_000, "Pushpin's message_hwm for the run (0: Debian's 25000)")
	var ccfg costConfig
	flag.StringVar(&ccfg.Listeners, "cost-listeners", "1,100,1000", "listener counts the cost workload measures")
	flag.IntVar(&ccfg.Messages, "cost-messages", 50, "messages the cost workload sends per listener count")
	flag.DurationVar(&ccfg.Idle, "cost-idle", 25*time.Second, "how long the cost workload watches idle listeners")
	flag.IntVar(&ccfg.LiveListeners, "cost-live-listeners", 50, "live listeners (the web page's ?live=1 stream, one user each) the cost workload watches for -cost-idle (0: none)")
	flag.IntVar(&ccfg.LinkTimeout, "cost-link-timeout", 5, "LINK_TIMEOUT (s) of the cost run's idle measurement, scaled to the template's default in the prices")
	var params costParams
	fanoutMsg := flag.Float64("fanout-message-price", -1, "Fanout's price per 1M messages, if known (negative: not priced)")
	fanoutMin := flag.Float64("fanout-minute-price", -1, "Fanout's price per 1M connection-minutes, if known (negative: not priced)")
	flag.Float64Var(&params.WSBaseMs, "ws-base-ms", 0, "WebSocket sample: billed ms of its sendmessage before PostToConnection (0: this port's measured send)")
	flag.Float64Var(&params.WSPostMs, "ws-post-ms", 0, "WebSocket sample: billed ms each PostToConnection adds")
	flag.Float64Var(&params.WSConnBytes, "ws-conn-bytes", 40, "WebSocket sample: bytes of one connection item its Scan reads")
	flag.Parse()
	var err error
	if cfg.Listeners, err = parseCounts(*listeners); err != nil {
		return err
	}
	if cfg.Concurrency, err = parseCounts(*conc); err != nil {
		return err
	}
	if *costOut != "" {
		if ccfg.counts, err = parseCounts(ccfg.Listeners); err != nil {
			return err
		}
		cfg.Listeners = ccfg.counts
	}
	if ccfg.LiveListeners < 0 {
		return errors.New("-cost-live-listeners must not be negative")
	}
	if cfg.Messages < 1 || cfg.Warmup < 1 || cfg.Reads < 1 || cfg.ColdRuns < 1 || cfg.ConnectParallel < 1 || cfg.Requests < 1 {
		return errors.New("-messages, -warmup, -reads, -cold-runs, -connect-parallel and -requests must be at least 1")
	}
	progress := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	// Each listener is a socket here and one in Pushpin, which inherits the
	// limit when the stack starts it.
	if err := load.RaiseNoFile(uint64(cfg.Listeners[len(cfg.Listeners)-1])*2 + 1024); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	root, err := proc.RepoRoot()
	if err != nil {
		return fmt.Errorf("repository root: %w", err)
	}
	var stackLog io.Writer = io.Discard
	if *logPath != "" {
		f, err := createFile(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		stackLog = f
	}
	calls := load.NewCallCounter(stackLog)

	started := time.Now()
	rep := report{Date: started, Machine: load.Machine(), Config: cfg}

	// The functions reach DynamoDB Local and Pushpin's publish port through
	// taps that count what they ask.
	free, err := proc.FreePorts(2)
	if err != nil {
		return fmt.Errorf("free ports for DynamoDB Local and Pushpin's publish port: %w", err)
	}
	dynamoPort, publishPort := free[0], free[1]
	dtap, err := newDynamoTap(fmt.Sprintf("http://127.0.0.1:%d", dynamoPort))
	if err != nil {
		return err
	}
	ptap, err := newPublishTap(fmt.Sprintf("http://127.0.0.1:%d", publishPort))
	if err != nil {
		return err
	}
	dtapURL, stopDtap, err := serveTap(dtap)
	if err != nil {
		return err
	}
	defer stopDtap()
	ptapURL, stopPtap, err := serveTap(ptap)
	if err != nil {
		return err
	}
	defer stopPtap()

	env := map[string]string{
		"ROOMS": roomsSpec(cfg.Listeners), config.EnvDynamoEndpoint: dtapURL, config.EnvGripURL: ptapURL,
		// The origin-call counts come from the functions' request lines,
		// logged at INFO.
		"LOG_LEVEL": "INFO",
		// One "bench" user sends every message: its abuse limit must not be
		// what is measured.
		"RATE_LIMITS": "send=60000/1m/10000",
	}
	if *costOut != "" {
		env[config.EnvLinkTimeout] = strconv.Itoa(ccfg.LinkTimeout)
		env[config.EnvPresenceTTL] = strconv.Itoa(int(ccfg.presenceTTL().Seconds()))
	}
	progress.Info("starting the local stack")
	st, err := stack.Start(ctx, stack.Config{
		Root:               root,
		Template:           filepath.Join(root, "template.yaml"),
		APIKeys:            stack.DefaultAPIKey,
		AdminKey:           stack.DefaultAdminKey,
		SigKey:             stack.DefaultSigKey,
		DynamoPort:         dynamoPort,
		PublishPort:        publishPort,
		Env:                env,
		Log:                calls,
		PushpinMessageRate: cfg.PushpinRate,
		PushpinMessageHWM:  cfg.PushpinHWM,
	})
	if err != nil {
		return fmt.Errorf("start the local stack: %w", err)
	}
	b := &bench{
		cfg: cfg, stack: st, calls: calls, stackLog: stackLog, progress: progress, dtap: dtap, ptap: ptap,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}},
		listenClient: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: -1, DisableCompression: true, ResponseHeaderTimeout: 30 * time.Second,
		}},
	}
	if b.raw, err = grip.NewPublisher(grip.PublishConfig{ControlURI: st.PublishURL()}, grip.WithLogger(progress)); err != nil {
		return errors.Join(fmt.Errorf("raw publisher: %w", err), st.Stop())
	}
	var runErr error
	var cost costReport
	if *costOut != "" {
		cost, runErr = b.measureCost(ctx, ccfg, root)
	} else {
		runErr = b.measure(ctx, &rep)
	}
	rep.Elapsed = time.Since(started)
	progress.Info("stopping the local stack")
	if err := st.Stop(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stop the local stack: %w", err))
	}
	if runErr != nil {
		return runErr
	}
	if *costOut != "" {
		cost.Date, cost.Machine, cost.Elapsed = started, rep.Machine, rep.Elapsed
		prices := publicPrices(*fanoutMsg, *fanoutMin)
		write := func(w io.Writer) error { return cost.write(w, prices, params) }
		if err := write(os.Stdout); err != nil {
			return fmt.Errorf("write cost report: %w", err)
		}
		return writeFile(*costOut, write)
	}

	if err := rep.write(os.Stdout); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if *out != "" {
		f, err := createFile(*out)
		if err != nil {
			return err
		}
		if err := rep.write(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("write %s: %w", *out, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", *out, err)
		}
	}
	return nil
}

// seedMessages is how many messages the read room gets before anything is
// measured.
const seedMessages = 200

// measure runs every part of the benchmark against the running stack.
func (b *bench) measure(ctx context.Context, rep *report) error {
	// Seeding the read room first also warms the whole send path up
	// (DynamoDB Local's JIT above all), so the first fan-out row, the
	// baseline of the ratios, is not slower for being first.
	b.progress.Info("seeding the read room", "messages", seedMessages)
	lastID, err := b.seedReadRoom(ctx, seedMessages)
	if err != nil {
		return err
	}
	for _, n := range b.cfg.Listeners {
		for _, mode := range []string{modeOrigin, modeRaw} {
			b.progress.Info("fan-out", "mode", mode, "listeners", n)
			res, err := b.runFanout(ctx, mode, n)
			if err != nil {
				return fmt.Errorf("fan-out: %w", err)
			}
			b.progress.Info("fan-out done", "mode", mode, "listeners", n, "sendP50", res.Send.Median.String(),
				"deliveryP50", res.Delivery.Median.String(), "complete", res.Complete, "sendCalls", res.SendCalls, "streamCalls", res.StreamCalls)
			rep.Fanout = append(rep.Fanout, res)
			// Let Pushpin drop the closed connections before the next row.
			time.Sleep(500 * time.Millisecond)
		}
	}

	b.progress.Info("reads")
	if rep.Reads, err = b.runReads(ctx, lastID); err != nil {
		return fmt.Errorf("reads: %w", err)
	}
	if !b.cfg.SkipThroughput {
		if rep.Throughput, err = b.runThroughput(ctx); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
	}

	if !b.cfg.SkipCold {
		b.progress.Info("cold starts under the RIE", "runs", b.cfg.ColdRuns)
		if rep.Cold, err = b.runColdStarts(ctx); err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
	}
	if !b.cfg.SkipSizes {
		b.progress.Info("linux/arm64 builds")
		if rep.Sizes, err = buildSizes(ctx); err != nil {
			return fmt.Errorf("binary sizes: %w", err)
		}
	}
	return nil
}

// parseCounts parses "1,10,100" into ascending positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("listener count %q: want a positive integer", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("listener counts %q: want them ascending", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// roomsSpec is the ROOMS of the run: the read room first (the default),
// the cost workload's live room, then a fresh room per mode and listener
// count.
func roomsSpec(counts []int) string {
	rooms := []string{readRoom, liveRoom}
	for i := range throughputRooms {
		rooms = append(rooms, throughputRoom(i))
	}
	for _, n := range counts {
		rooms = append(rooms, fanoutRoom(modeOrigin, n), fanoutRoom(modeRaw, n))
	}
	return strings.Join(rooms, ",")
}

// createFile creates path and its directory.
func createFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("make directory of %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, nil
}

// writeFile creates path (and its directory) and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
