package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
	"github.com/fanout-chat/serverless-chat/tools/stack"
)

// fault is one process fault injected during the run.
type fault struct {
	what string
	at   time.Duration // after the load started
	// recovery is from the fault until every listener had every event up
	// to the first one sent after it (0: never).
	recovery time.Duration
	atTime   time.Time
}

// memory is the resident memory of the stack's parts at one moment.
type memory struct {
	self, pushpin, dynamo int64 // bytes
	heap                  uint64
	edgeConns             int
}

// soak runs the soak mode.
func (r *runner) soak(ctx context.Context, rep *report) error {
	cfg := r.cfg
	var err error
	r.progress.Info("delivery floor: raw publishes to the listeners", "listeners", cfg.Listeners)
	if rep.floor, err = r.floor(ctx, cfg.Listeners); err != nil {
		return fmt.Errorf("floor: %w", err)
	}

	url := r.st.URL() + "/room/" + room + "/events"
	ls := make([]*listener, cfg.Listeners)
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	var lwg, ready sync.WaitGroup
	for i := range ls {
		ls[i] = newListener(url, r.listenClient, cfg.DropEvery)
		lwg.Add(1)
		ready.Add(1)
		var once sync.Once
		go func() {
			defer lwg.Done()
			ls[i].run(lctx, func() { once.Do(ready.Done) })
		}()
		time.Sleep(2 * time.Millisecond) // a ramp, not a storm (that is -mode storm)
	}
	if !waitGroupCtx(ctx, &ready, 2*time.Minute) {
		return fmt.Errorf("the %d listeners did not all connect", cfg.Listeners)
	}
	r.calls.Settle(ctx, load.RouteStream, 1500*time.Millisecond, time.Minute)
	rep.memBefore = r.memory()
	r.progress.Info("listeners connected; load starts", "listeners", cfg.Listeners, "duration", cfg.Duration)

	start := time.Now()
	sctx, scancel := context.WithTimeout(ctx, cfg.Duration)
	defer scancel()
	sends := &sendLog{}
	var swg sync.WaitGroup
	newSender := func(i int) *sender {
		return &sender{api: r.st.APIURL(), apiKey: r.st.APIKey(), user: "soak-" + strconv.Itoa(i), room: room,
			client: r.client, busyRetries: 8, otherRetryFor: 60 * time.Second}
	}
	// Steady senders.
	for i := range cfg.Senders {
		swg.Add(1)
		go func() {
			defer swg.Done()
			s := newSender(i)
			every := time.Duration(float64(time.Second) * float64(cfg.Senders) / cfg.Rate)
			for n := 0; sctx.Err() == nil; n++ {
				next := time.Now().Add(jittered(2 * every))
				sends.add(s.send(context.WithoutCancel(sctx), fmt.Sprintf("steady %d/%d **soak**", i, n)))
				sleepCtx(sctx, time.Until(next))
			}
		}()
	}
	// Bursts.
	swg.Add(1)
	go func() {
		defer swg.Done()
		for b := 0; ; b++ {
			sleepCtx(sctx, cfg.BurstEvery)
			if sctx.Err() != nil {
				return
			}
			r.progress.Info("burst", "messages", cfg.Burst)
			var bwg sync.WaitGroup
			for k := range cfg.Burst {
				bwg.Add(1)
				go func() {
					defer bwg.Done()
					s := newSender(100 + k%cfg.Senders)
					sends.add(s.send(context.WithoutCancel(sctx), fmt.Sprintf("burst %d/%d", b, k)))
				}()
				time.Sleep(time.Duration(float64(2*time.Second) / float64(cfg.Burst))) // a burst over about 2 s
			}
			bwg.Wait()
		}
	}()
	// Memory samples.
	peak := rep.memBefore
	var mu sync.Mutex
	swg.Add(1)
	go func() {
		defer swg.Done()
		for sctx.Err() == nil {
			sleepCtx(sctx, 2*time.Second)
			m := r.memory()
			mu.Lock()
			peak.self, peak.pushpin, peak.dynamo = max(peak.self, m.self), max(peak.pushpin, m.pushpin), max(peak.dynamo, m.dynamo)
			mu.Unlock()
		}
	}()
	// Process faults.
	var faults []*fault
	swg.Add(1)
	go func() {
		defer swg.Done()
		type planned struct {
			at   float64
			what string
			do   func() error
		}
		var plan []planned
		if cfg.KillPushpin {
			plan = append(plan, planned{0.3, "Pushpin killed (SIGKILL)", func() error {
				return syscall.Kill(r.st.Pid("pushpin"), syscall.SIGKILL)
			}})
		}
		if cfg.StopDynamo {
			plan = append(plan, planned{0.6, "DynamoDB Local stopped from outside (SIGTERM)", func() error {
				return syscall.Kill(r.st.Pid("dynamodb"), syscall.SIGTERM)
			}})
		}
		for _, p := range plan {
			sleepCtx(sctx, time.Until(start.Add(time.Duration(p.at*float64(cfg.Duration)))))
			if sctx.Err() != nil {
				return
			}
			r.progress.Info("fault", "what", p.what)
			f := &fault{what: p.what, at: time.Since(start), atTime: time.Now()}
			if err := p.do(); err != nil {
				r.progress.Error("fault", "what", p.what, "err", err)
				continue
			}
			faults = append(faults, f)
		}
	}()
	<-sctx.Done()
	swg.Wait()
	rep.loadTime = time.Since(start)

	// Every event stored must reach every listener.
	results := sends.all()
	var maxID int64
	for _, s := range results {
		maxID = max(maxID, s.id)
	}
	r.progress.Info("load over; draining", "lastId", maxID)
	drainStart := time.Now()
	for time.Since(drainStart) < cfg.Drain && ctx.Err() == nil {
		all := true
		for _, l := range ls {
			if !l.has(maxID) {
				all = false
				break
			}
		}
		if all {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.drain = time.Since(drainStart)
	lcancel()
	lwg.Wait()
	for _, l := range ls {
		l.mu.Lock()
		maxID = max(maxID, l.last)
		l.mu.Unlock()
	}
	rep.memPeak = peak
	rep.events = maxID
	rep.tally(results, ls, faults, r.relay)
	// Idle: the listeners are gone; what the stack holds after its idle
	// timeout is what a wave leaves behind.
	rep.memAfter = r.afterIdle(ctx)
	rep.restarts = r.restarts()
	return nil
}

// afterIdle waits until the stack's idle timeout has passed (the listeners
// are gone) and samples memory: what a wave leaves behind.
func (r *runner) afterIdle(ctx context.Context) memory {
	idle := r.cfg.IdleTimeout
	if idle <= 0 || idle > 30*time.Second {
		idle = stack.DefaultIdleTimeout
	}
	sleepCtx(ctx, idle+2*time.Second)
	runtime.GC()
	return r.memory()
}

// floor measures delivery without the origin: frames published straight to
// Pushpin's publish port to n listeners on the floor room, one at a time;
// the time from the publish to the last listener.
func (r *runner) floor(ctx context.Context, n int) (load.Summary, error) {
	const frames = 20
	tr := load.NewTracker(n, frames)
	// Opened a few at a time: this is the calm baseline, not a storm.
	ls, err := load.OpenListeners(ctx, r.listenClient, r.st.URL()+"/room/floor/events", n, 8, tr)
	if err != nil {
		return load.Summary{}, err
	}
	defer ls.Close()
	r.calls.Settle(ctx, load.RouteStream, 1500*time.Millisecond, time.Minute)
	var lat []time.Duration
	for id := int64(1); id <= frames; id++ {
		t0 := time.Now()
		if err := r.publishRaw(ctx, "floor", id); err != nil {
			return load.Summary{}, err
		}
		last, got := tr.WaitFor(ctx, id, 10*time.Second)
		if got == n {
			lat = append(lat, last.Sub(t0))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return load.Summarize(lat), nil
}

// publishRaw publishes one message frame with id to room straight to
// Pushpin, as the send function would (id and prev-id).
func (r *runner) publishRaw(ctx context.Context, rm string, id int64) error {
	frame := "id: " + strconv.FormatInt(id, 10) + "\nevent: message\ndata: {\"id\":" + strconv.FormatInt(id, 10) + "}\n\n"
	body, _ := json.Marshal(map[string]any{"items": []any{map[string]any{
		"channel": "room-" + rm, "id": strconv.FormatInt(id, 10), "prev-id": strconv.FormatInt(id-1, 10),
		"formats": map[string]any{"http-stream": map[string]string{"content": frame}},
	}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.st.PublishURL()+"/publish/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: %s", resp.Status)
	}
	return nil
}

// memory samples the stack's resident memory.
func (r *runner) memory() memory {
	var m memory
	m.self = load.RSS(syscallGetpid())
	for name, ids := range r.st.Processes() {
		for _, id := range ids {
			switch name {
			case "pushpin":
				m.pushpin += load.RSS(id.Pid)
			case "dynamodb":
				m.dynamo += load.RSS(id.Pid)
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = ms.HeapInuse
	m.edgeConns = r.st.OpenConnections()["edge stand-in"]
	return m
}

// restarts counts the supervisor's restarts in the stack's log.
func (r *runner) restarts() int { return r.restartLog.count() }

// waitGroupCtx waits for wg, ctx or limit; it reports whether wg finished.
func waitGroupCtx(ctx context.Context, wg *sync.WaitGroup, limit time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	case <-time.After(limit):
	}
	return false
}

func syscallGetpid() int { return syscall.Getpid() }
