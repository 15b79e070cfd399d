// Command recovery measures how fast listeners recover what the proxy did
// not deliver (`make bench-recovery`). It starts the local stack with the
// send function publishing through a relay that can drop publishes, opens
// SSE listeners through Pushpin and measures, from one run:
//
//   - a single dropped publish with nothing after it: send → every
//     listener has the message;
//   - a share of publishes dropped at random while messages flow: each
//     message's delivery to the last listener, and the longest gap;
//   - a listener far behind: reconnect with Last-Event-ID → it has the
//     room's last event;
//   - idle listeners: stream invocations (next-link calls) per minute.
//
// The report is markdown on stdout. Every wait is bounded and everything
// started is stopped by pid before the command exits.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

type config struct {
	listeners, singleDrops, messages, behind, seedParallel int
	rate, dropShare                                        float64
	idle, wait                                             time.Duration
	env                                                    map[string]string
	parts                                                  string
	// burstListeners, burstMessages and burstSpan shape the burst part;
	// pushpinRate and pushpinHWM are Pushpin's message_rate and
	// message_hwm (0: the local stack's defaults).
	burstListeners, burstMessages, pushpinRate, pushpinHWM int
	burstSpan                                              time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "recovery:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg     config
		envFlag = flag.String("env", "", "extra function environment, KEY=value comma-separated (e.g. LINK_TIMEOUT=60)")
		logPath = flag.String("log", "test-output/recovery-stack.log", "file the stack's logs go to")
		timeout = flag.Duration("timeout", 20*time.Minute, "bound for the whole run")
	)
	flag.IntVar(&cfg.listeners, "listeners", 50, "listeners per room")
	flag.IntVar(&cfg.singleDrops, "single-drops", 3, "single dropped publishes with nothing after")
	flag.IntVar(&cfg.messages, "messages", 40, "messages of the random-drop run")
	flag.Float64Var(&cfg.rate, "rate", 2, "messages per second of the random-drop run")
	flag.Float64Var(&cfg.dropShare, "drop", 0.1, "share of publishes dropped in the random-drop run")
	flag.IntVar(&cfg.behind, "behind", 2000, "events the catching-up listener is behind")
	flag.IntVar(&cfg.seedParallel, "seed-parallel", 8, "concurrent sends while seeding the catch-up room")
	flag.DurationVar(&cfg.idle, "idle", time.Minute, "window of the idle next-link count")
	flag.DurationVar(&cfg.wait, "wait", 150*time.Second, "bound for one message to reach every listener")
	flag.StringVar(&cfg.parts, "parts", "single,drops,behind,idle", "parts to run, comma-separated (also: burst)")
	flag.IntVar(&cfg.burstListeners, "burst-listeners", 2000, "listeners of the burst part")
	flag.IntVar(&cfg.burstMessages, "burst-messages", 20, "messages of the burst part")
	flag.DurationVar(&cfg.burstSpan, "burst-span", 3*time.Second, "time the burst's messages are spread over")
	flag.IntVar(&cfg.pushpinRate, "pushpin-rate", 0, "Pushpin's message_rate (0: the local stack's default)")
	flag.IntVar(&cfg.pushpinHWM, "pushpin-hwm", 0, "Pushpin's message_hwm (0: the local stack's default)")
	flag.Parse()
	cfg.env = map[string]string{"LOG_LEVEL": "INFO", "ROOMS": "single:Single,drops:Drops,behind:Behind,idle:Idle,burst:Burst"}
	for kv := range strings.SplitSeq(*envFlag, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			cfg.env[k] = v
		}
	}
	// Each listener is a socket here and one in Pushpin, which inherits
	// the limit when the stack starts it.
	if err := load.RaiseNoFile(uint64(max(cfg.listeners, cfg.burstListeners))*2 + 1024); err != nil {
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
	if err := os.MkdirAll(filepath.Dir(*logPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(*logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	calls := load.NewCallCounter(logFile)
	relay := newRelay()
	defer relay.close()
	cfg.env["GRIP_URL"] = relay.url
	progress := slog.New(slog.NewTextHandler(os.Stderr, nil))
	progress.Info("starting the local stack")
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Template: filepath.Join(root, "template.yaml"),
		APIKeys: stack.DefaultAPIKey, AdminKey: stack.DefaultAdminKey, SigKey: stack.DefaultSigKey,
		Env: cfg.env, Log: calls,
		PushpinMessageRate: cfg.pushpinRate, PushpinMessageHWM: cfg.pushpinHWM,
	})
	if err != nil {
		return fmt.Errorf("start the local stack: %w", err)
	}
	relay.setTarget(st.PublishURL())
	r := &runner{cfg: cfg, st: st, relay: relay, calls: calls, log: progress,
		client: &http.Client{Timeout: 30 * time.Second},
		listen: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}}
	out := &bytes.Buffer{}
	runErr := r.all(ctx, out)
	if err := st.Stop(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	os.Stdout.Write(out.Bytes())
	return runErr
}

type runner struct {
	cfg            config
	st             *stack.Stack
	relay          *relay
	calls          *load.CallCounter
	log            *slog.Logger
	client, listen *http.Client
}

func (r *runner) all(ctx context.Context, out io.Writer) error {
	fmt.Fprintf(out, "Recovery run %s, %d listeners per room, function env %v\n\n", time.Now().UTC().Format(time.RFC3339), r.cfg.listeners, r.cfg.env)
	parts := map[string]func(context.Context, io.Writer) error{"single": r.single, "drops": r.randomDrops, "behind": r.catchUp, "idle": r.idle, "burst": r.burst}
	for name := range strings.SplitSeq(r.cfg.parts, ",") {
		part, ok := parts[name]
		if !ok {
			return fmt.Errorf("no part %q", name)
		}
		if err := part(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// single: one dropped publish, nothing after it.
func (r *runner) single(ctx context.Context, out io.Writer) error {
	ls, err := r.open(ctx, "single", r.cfg.listeners, "")
	if err != nil {
		return err
	}
	defer ls.close()
	time.Sleep(2 * time.Second) // past Pushpin's 1 s first-subscription fetch
	var got []time.Duration
	for i := range r.cfg.singleDrops {
		r.relay.dropNext()
		start := time.Now()
		id, err := r.send(ctx, "single")
		if err != nil {
			return err
		}
		d, ok := ls.waitAll(ctx, id, start, r.cfg.wait)
		r.log.Info("single drop", "n", i+1, "id", id, "recovered", d, "ok", ok)
		if !ok {
			return fmt.Errorf("single drop %d: id %d did not reach every listener within %s", i+1, id, r.cfg.wait)
		}
		got = append(got, d)
		time.Sleep(time.Second)
	}
	fmt.Fprintf(out, "## One dropped publish, nothing after it\n\nsend → all %d listeners have it:\n\n", r.cfg.listeners)
	fmt.Fprintf(out, "- the first, in a quiet room: %s\n", durs(got[:1]))
	if len(got) > 1 {
		fmt.Fprintf(out, "- each later one, sent 1 s after the previous was recovered: %s (median %s)\n", durs(got[1:]), median(got[1:]))
	}
	fmt.Fprintln(out)
	return nil
}

// randomDrops: messages at a steady rate, a share of publishes dropped.
func (r *runner) randomDrops(ctx context.Context, out io.Writer) error {
	ls, err := r.open(ctx, "drops", r.cfg.listeners, "")
	if err != nil {
		return err
	}
	defer ls.close()
	time.Sleep(2 * time.Second)
	r.relay.setDropShare(r.cfg.dropShare)
	type sent struct {
		id      int64
		at      time.Time
		dropped bool
	}
	var msgs []sent
	tick := time.Duration(float64(time.Second) / r.cfg.rate)
	for i := range r.cfg.messages {
		at := time.Now()
		before := r.relay.dropped()
		id, err := r.send(ctx, "drops")
		if err != nil {
			return err
		}
		msgs = append(msgs, sent{id, at, r.relay.dropped() > before})
		if i < r.cfg.messages-1 {
			time.Sleep(time.Until(at.Add(tick)))
		}
	}
	r.relay.setDropShare(0)
	var all, lost []time.Duration
	for _, m := range msgs {
		d, ok := ls.waitAll(ctx, m.id, m.at, r.cfg.wait)
		if !ok {
			return fmt.Errorf("random drops: id %d did not reach every listener within %s", m.id, r.cfg.wait)
		}
		all = append(all, d)
		if m.dropped {
			lost = append(lost, d)
		}
	}
	dup, order := ls.faults()
	fmt.Fprintf(out, "## %.0f %% of publishes dropped, %d messages at %.0f/s\n\n", r.cfg.dropShare*100, r.cfg.messages, r.cfg.rate)
	fmt.Fprintf(out, "| | p50 | p95 | max |\n|---|---:|---:|---:|\n| send → last listener, every message | %s | %s | %s |\n", pct(all, 50), pct(all, 95), pct(all, 100))
	fmt.Fprintf(out, "| send → last listener, dropped ones (%d) | %s | %s | %s |\n\n", len(lost), pct(lost, 50), pct(lost, 95), pct(lost, 100))
	fmt.Fprintf(out, "duplicates %d, out of order %d, every message reached every listener\n\n", dup, order)
	return nil
}

// catchUp: a listener behind by cfg.behind events reconnects.
func (r *runner) catchUp(ctx context.Context, out io.Writer) error {
	r.log.Info("seeding", "events", r.cfg.behind)
	var wg sync.WaitGroup
	errs := make(chan error, r.cfg.seedParallel)
	per := r.cfg.behind / r.cfg.seedParallel
	for w := range r.cfg.seedParallel {
		n := per
		if w == 0 {
			n += r.cfg.behind - per*r.cfg.seedParallel
		}
		wg.Go(func() {
			for range n {
				if _, err := r.send(ctx, "behind"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	last := int64(r.cfg.behind)
	start := time.Now()
	ls, err := r.open(ctx, "behind", 1, "0")
	if err != nil {
		return err
	}
	defer ls.close()
	d, ok := ls.waitAll(ctx, last, start, r.cfg.wait)
	marks := []int64{200, 1000, last}
	fmt.Fprintf(out, "## A listener %d events behind reconnects (Last-Event-ID: 0)\n\n", r.cfg.behind)
	for _, m := range marks {
		if at, ok := ls.arrival(m); ok {
			fmt.Fprintf(out, "- id %d after %s\n", m, round(at.Sub(start)))
		} else {
			fmt.Fprintf(out, "- id %d not reached within %s (got up to %d)\n", m, r.cfg.wait, ls.max())
		}
	}
	dup, order := ls.faults()
	fmt.Fprintf(out, "\ncurrent: %v after %s; duplicates %d, out of order %d\n\n", ok, round(d), dup, order)
	return nil
}

// burst: many listeners, a burst of messages, no loss injected: is the
// proxy's delivery limiter what they wait for?
func (r *runner) burst(ctx context.Context, out io.Writer) error {
	r.log.Info("opening listeners", "n", r.cfg.burstListeners)
	ls, err := r.open(ctx, "burst", r.cfg.burstListeners, "")
	if err != nil {
		return err
	}
	defer ls.close()
	time.Sleep(3 * time.Second)
	type sent struct {
		id int64
		at time.Time
	}
	var msgs []sent
	tick := r.cfg.burstSpan / time.Duration(max(r.cfg.burstMessages-1, 1))
	for i := range r.cfg.burstMessages {
		at := time.Now()
		id, err := r.send(ctx, "burst")
		if err != nil {
			return err
		}
		msgs = append(msgs, sent{id, at})
		if i < r.cfg.burstMessages-1 {
			time.Sleep(time.Until(at.Add(tick)))
		}
	}
	var all []time.Duration
	complete := 0
	for _, m := range msgs {
		d, ok := ls.waitAll(ctx, m.id, m.at, r.cfg.wait)
		if ok {
			complete++
		}
		all = append(all, d)
	}
	dup, order := ls.faults()
	fmt.Fprintf(out, "## Burst: %d messages in %s to %d listeners (message_rate %s, message_hwm %s)\n\n",
		r.cfg.burstMessages, r.cfg.burstSpan, r.cfg.burstListeners, orDefault(r.cfg.pushpinRate), orDefault(r.cfg.pushpinHWM))
	fmt.Fprintf(out, "send → last listener p50 %s, p99 %s, max %s; reached every listener %d/%d; duplicates %d, out of order %d\n\n",
		pct(all, 50), pct(all, 99), pct(all, 100), complete, len(msgs), dup, order)
	return nil
}

func orDefault(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

// idle: next-link calls of idle listeners.
func (r *runner) idle(ctx context.Context, out io.Writer) error {
	ls, err := r.open(ctx, "idle", r.cfg.listeners, "")
	if err != nil {
		return err
	}
	defer ls.close()
	time.Sleep(3 * time.Second)
	before := r.calls.Get(load.RouteStream)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.idle):
	}
	n := r.calls.Get(load.RouteStream) - before
	fmt.Fprintf(out, "## Idle listeners\n\n%d listeners, %s without a message: %d stream invocations (%.1f per minute)\n\n",
		r.cfg.listeners, r.cfg.idle, n, float64(n)/r.cfg.idle.Minutes())
	return nil
}

// send posts one message as the edge would and returns its id. A 503
// (contended room) is retried with the same clientId, as the page does.
func (r *runner) send(ctx context.Context, room string) (int64, error) {
	body := fmt.Sprintf(`{"text":"recovery %d","clientId":"%s"}`, rand.IntN(1<<30), uuid())
	// One user per message: the per-user write limits are not measured here.
	user := "recovery-" + strconv.Itoa(rand.IntN(1<<30))
	var b []byte
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.st.URL()+"/room/"+room+"/messages", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", r.st.APIKey())
		req.Header.Set("x-user", user)
		resp, err := r.client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("send to %s: %w", room, err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
			time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("send to %s: %s %s", room, resp.Status, b)
		}
		break
	}
	var m struct {
		ID int64 `json:"id"`
	}
	if _, after, ok := bytes.Cut(b, []byte(`"id":`)); ok {
		end := bytes.IndexAny(after, ",}")
		m.ID, _ = strconv.ParseInt(string(after[:end]), 10, 64)
	}
	return m.ID, nil
}

func uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// listeners are SSE connections through Pushpin recording when each
// listener first got each id.
type listeners struct {
	n      int
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	count    map[int64]int
	lastAt   map[int64]time.Time
	firstAt  map[int64]time.Time
	dup, ord int
	top      int64
}

func (r *runner) open(ctx context.Context, room string, n int, lastEventID string) (*listeners, error) {
	ctx, cancel := context.WithCancel(ctx)
	ls := &listeners{n: n, cancel: cancel, count: map[int64]int{}, lastAt: map[int64]time.Time{}, firstAt: map[int64]time.Time{}}
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.st.URL()+"/room/"+room+"/events", nil)
		if err != nil {
			cancel()
			return nil, err
		}
		req.Header.Set("Accept", "text/event-stream")
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		resp, err := r.listen.Do(req)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listen to %s: %w", room, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			return nil, fmt.Errorf("listen to %s: %s", room, resp.Status)
		}
		ls.wg.Go(func() { ls.read(resp.Body) })
	}
	return ls, nil
}

func (ls *listeners) read(body io.ReadCloser) {
	defer body.Close()
	sc := bufio.NewScanner(body)
	var last int64
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "id: ")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		now := time.Now()
		ls.mu.Lock()
		switch {
		case id == last:
			ls.dup++
		case id < last:
			ls.ord++
		default:
			ls.count[id]++
			ls.lastAt[id] = now
			if _, ok := ls.firstAt[id]; !ok {
				ls.firstAt[id] = now
			}
			ls.top = max(ls.top, id)
		}
		ls.mu.Unlock()
		last = max(last, id)
	}
}

// waitAll waits until every listener has id and returns how long after
// start the last one got it.
func (ls *listeners) waitAll(ctx context.Context, id int64, start time.Time, limit time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ls.mu.Lock()
		c, at := ls.count[id], ls.lastAt[id]
		ls.mu.Unlock()
		if c >= ls.n {
			return at.Sub(start), true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return limit, false
}

func (ls *listeners) arrival(id int64) (time.Time, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	at, ok := ls.firstAt[id]
	return at, ok
}

func (ls *listeners) max() int64 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.top
}

func (ls *listeners) faults() (dup, order int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.dup, ls.ord
}

func (ls *listeners) close() {
	ls.cancel()
	ls.wg.Wait()
}

// relay forwards publishes to Pushpin, dropping some of them.
type relay struct {
	url string
	srv *http.Server

	mu        sync.Mutex
	target    string
	drops     int
	share     float64
	dropCount int
}

func newRelay() *relay {
	port, err := proc.FreePort()
	if err != nil {
		panic(err)
	}
	r := &relay{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	r.srv = &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.ListenAndServe() }()
	return r
}

func (r *relay) setTarget(u string) { r.mu.Lock(); r.target = u; r.mu.Unlock() }
func (r *relay) dropNext()          { r.mu.Lock(); r.drops++; r.mu.Unlock() }
func (r *relay) setDropShare(p float64) {
	r.mu.Lock()
	r.share = p
	r.mu.Unlock()
}
func (r *relay) dropped() int { r.mu.Lock(); defer r.mu.Unlock(); return r.dropCount }
func (r *relay) close()       { _ = r.srv.Close() }

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	drop := r.drops > 0 || (r.share > 0 && rand.Float64() < r.share)
	if r.drops > 0 {
		r.drops--
	}
	if drop {
		r.dropCount++
	}
	target := r.target
	r.mu.Unlock()
	if drop {
		// A silent loss: the publisher is told all went well.
		_, _ = io.WriteString(w, "Published\n")
		return
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, target+req.URL.Path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

func durs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = round(d).String()
	}
	return strings.Join(s, ", ")
}

func median(ds []time.Duration) time.Duration { return pctD(ds, 50) }

func pctD(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return round(s[max(min(i, len(s))-1, 0)])
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "–"
	}
	return pctD(ds, p).String()
}
