package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
)

// stormResult is a connect storm: every listener connecting at once, then
// every listener reconnecting at once after the proxy died.
type stormResult struct {
	listeners int
	// initial is the first wave; again the reconnect after Pushpin was
	// killed.
	initial, again stormWave
	// delivery is a message sent after the reconnects, to the last listener.
	delivery time.Duration
	missing  int // listeners that did not get it
	// memory before the first wave, with every listener connected, and
	// after they left and the idle timeout passed.
	memBefore, memConnected, memAfter memory
}

// stormWave is one wave of connects.
type stormWave struct {
	allConnected time.Duration // from the wave's start
	errors       map[int]int64 // failed connects by status
	streamCalls  int           // stream function invocations during the wave
	connects     int64
}

// storm runs the storm mode.
func (r *runner) storm(ctx context.Context, rep *report) error {
	n := r.cfg.Listeners
	res := &stormResult{listeners: n}
	rep.storm = res
	url := r.st.URL() + "/room/" + room + "/events"
	ls := make([]*listener, n)
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	var lwg, ready sync.WaitGroup
	res.memBefore = r.memory()
	calls0 := r.calls.Get(load.RouteStream)
	start := time.Now()
	for i := range ls {
		ls[i] = newListener(url, r.listenClient, 0)
		ls[i].immediate = r.cfg.Immediate
		lwg.Add(1)
		ready.Add(1)
		var once sync.Once
		go func() {
			defer lwg.Done()
			ls[i].run(lctx, func() { once.Do(ready.Done) })
		}()
	}
	r.progress.Info("storm: every listener connects at once", "listeners", n)
	if !waitGroupCtx(ctx, &ready, 5*time.Minute) {
		return fmt.Errorf("storm: the %d listeners did not all connect", n)
	}
	res.initial.allConnected = time.Since(start)
	r.calls.Settle(ctx, load.RouteStream, 2*time.Second, 2*time.Minute)
	res.initial.streamCalls = r.calls.Get(load.RouteStream) - calls0
	res.initial.errors, res.initial.connects = collectErrors(ls)
	r.progress.Info("storm: all connected", "took", res.initial.allConnected, "errors", statuses64(res.initial.errors), "streamCalls", res.initial.streamCalls)

	if r.cfg.KillPushpin {
		before := map[*listener]int64{}
		for _, l := range ls {
			before[l] = l.connects.Load()
		}
		calls1 := r.calls.Get(load.RouteStream)
		r.progress.Info("storm: Pushpin killed; every listener reconnects")
		start = time.Now()
		if err := syscall.Kill(r.st.Pid("pushpin"), syscall.SIGKILL); err != nil {
			return err
		}
		for ctx.Err() == nil && time.Since(start) < 5*time.Minute {
			all := true
			for _, l := range ls {
				if l.connects.Load() <= before[l] || !l.connected.Load() {
					all = false
					break
				}
			}
			if all {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		res.again.allConnected = time.Since(start)
		r.calls.Settle(ctx, load.RouteStream, 2*time.Second, 2*time.Minute)
		res.again.streamCalls = r.calls.Get(load.RouteStream) - calls1
		errs, connects := collectErrors(ls)
		for k, v := range res.initial.errors {
			errs[k] -= v
			if errs[k] == 0 {
				delete(errs, k)
			}
		}
		res.again.errors, res.again.connects = errs, connects-res.initial.connects
		r.progress.Info("storm: all reconnected", "took", res.again.allConnected, "errors", statuses64(errs), "streamCalls", res.again.streamCalls)
	}

	s := &sender{api: r.st.APIURL(), apiKey: r.st.APIKey(), user: "storm", room: room, client: r.client, busyRetries: 8}
	sent := s.send(ctx, "after the storm")
	if !sent.ok {
		return fmt.Errorf("storm: send after the storm failed: %v", sent.statuses)
	}
	for ctx.Err() == nil && time.Since(sent.stored) < time.Minute {
		missing := 0
		for _, l := range ls {
			if !l.has(sent.id) {
				missing++
			}
		}
		res.missing = missing
		if missing == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.delivery = time.Since(sent.stored)
	res.memConnected = r.memory()
	lcancel()
	lwg.Wait()
	res.memAfter = r.afterIdle(ctx)
	rep.restarts = r.restarts()
	return nil
}

// collectErrors sums the listeners' failed connects by status, and their
// connects.
func collectErrors(ls []*listener) (map[int]int64, int64) {
	out := map[int]int64{}
	var connects int64
	for _, l := range ls {
		connects += l.connects.Load()
		l.errorsByStatus.Range(func(k, v any) bool {
			out[k.(int)] += v.(interface{ Load() int64 }).Load()
			return true
		})
	}
	return out, connects
}

func (rep *report) writeStorm(w io.Writer) {
	s := rep.storm
	how := "after a dropped stream it reconnects after the server's SSE retry field, as a browser does (the stream function jitters it: 1–4 s)"
	if rep.cfg.Immediate {
		how = "after a dropped stream it reconnects at once (-immediate: the unjittered baseline)"
	}
	fmt.Fprintf(w, "%d listeners on one room, started all at once with no pacing; each behaves as the page: "+
		"%s; after a failed connect it backs off as the page does (jittered, doubling from 1 s).\n\n", s.listeners, how)
	fmt.Fprintf(w, "| wave | time to all connected | connects | failed connects (by status) | stream invocations | per listener |\n|---|---:|---:|---|---:|---:|\n")
	row := func(name string, wv stormWave) {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %.2f |\n", name, ms(wv.allConnected), wv.connects, statuses64(wv.errors), wv.streamCalls,
			float64(wv.streamCalls)/float64(s.listeners))
	}
	row("all connect at once", s.initial)
	if rep.cfg.KillPushpin {
		row("Pushpin killed (SIGKILL): all reconnect at once", s.again)
	}
	fmt.Fprintf(w, "\nA message sent after the storm reached every listener in %s (%d missing). Supervisor restarts: %d.\n\n",
		ms(s.delivery), s.missing, rep.restarts)
	fmt.Fprintf(w, "| memory | before | all connected | after they left + idle timeout |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| this process RSS (functions, emulator, edge, load clients) | %s | %s | %s |\n", mib(s.memBefore.self), mib(s.memConnected.self), mib(s.memAfter.self))
	fmt.Fprintf(w, "| Go heap in use | %s | %s | %s |\n", mib(int64(s.memBefore.heap)), mib(int64(s.memConnected.heap)), mib(int64(s.memAfter.heap)))
	fmt.Fprintf(w, "| open connections to the edge (from zurl) | %d | %d | %d |\n", s.memBefore.edgeConns, s.memConnected.edgeConns, s.memAfter.edgeConns)
	fmt.Fprintf(w, "| Pushpin RSS | %s | %s | %s |\n", mib(s.memBefore.pushpin), mib(s.memConnected.pushpin), mib(s.memAfter.pushpin))
}

// contentionResult is W writers on one room.
type contentionResult struct {
	writers                     int
	sends, ok, failed, attempts int
	busy                        int // attempts answered 503
	otherStatuses               map[int]int
	latency                     load.Summary // client-perceived, resends included
	firstTry                    int          // sends stored at the first attempt
	idProblems                  string
}

// contention runs the contention mode.
func (r *runner) contention(ctx context.Context, rep *report) error {
	c := &contentionResult{writers: r.cfg.Writers, otherStatuses: map[int]int{}}
	rep.cont = c
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	log := &sendLog{}
	var wg sync.WaitGroup
	r.progress.Info("contention: writers on one room", "writers", r.cfg.Writers, "duration", r.cfg.Duration)
	for i := range r.cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &sender{api: r.st.APIURL(), apiKey: r.st.APIKey(), user: "writer-" + strconv.Itoa(i), room: room,
				client: r.client, busyRetries: 8}
			for n := 0; sctx.Err() == nil; n++ {
				log.add(s.send(context.WithoutCancel(sctx), fmt.Sprintf("writer %d message %d", i, n)))
			}
		}()
	}
	wg.Wait()
	var lat []time.Duration
	ids := map[int64]bool{}
	var maxID int64
	for _, s := range log.all() {
		c.sends++
		c.attempts += s.attempts
		lat = append(lat, s.took)
		for _, st := range s.statuses {
			if st == http.StatusServiceUnavailable {
				c.busy++
			} else {
				c.otherStatuses[st]++
			}
		}
		if !s.ok {
			c.failed++
			continue
		}
		c.ok++
		if s.attempts == 1 {
			c.firstTry++
		}
		if ids[s.id] {
			c.idProblems += fmt.Sprintf("id %d stored twice; ", s.id)
		}
		ids[s.id] = true
		maxID = max(maxID, s.id)
	}
	if int64(len(ids)) != maxID {
		c.idProblems += fmt.Sprintf("%d distinct ids but the last is %d; ", len(ids), maxID)
	}
	c.latency = load.Summarize(lat)
	return nil
}

func (rep *report) writeContention(w io.Writer) {
	c := rep.cont
	fmt.Fprintf(w, "%d writers (distinct users) send to one room back to back for %s, as the page does: a 503 with Retry-After is resent "+
		"with the same clientId after Retry-After stretched by up to a half, at most 8 times.\n\n", c.writers, rep.cfg.Duration)
	fmt.Fprintf(w, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(w, "| sends (messages) | %d |\n", c.sends)
	fmt.Fprintf(w, "| **failed from the page's point of view** | **%d** |\n", c.failed)
	fmt.Fprintf(w, "| stored at the first attempt | %d (%.1f %%) |\n", c.firstTry, 100*float64(c.firstTry)/float64(max(c.ok, 1)))
	fmt.Fprintf(w, "| attempts | %d |\n", c.attempts)
	fmt.Fprintf(w, "| attempts answered 503 (server side) | %d (%.2f %% of attempts) |\n", c.busy, 100*float64(c.busy)/float64(max(c.attempts, 1)))
	fmt.Fprintf(w, "| other failed attempts | %s |\n", statuses(c.otherStatuses))
	fmt.Fprintf(w, "| send latency as the page sees it (resends included), p50 / p99 / max | %s / %s / %s |\n", ms(c.latency.Median), ms(c.latency.P99), ms(c.latency.Max))
	fmt.Fprintf(w, "| throughput | %.1f messages/s |\n", float64(c.ok)/rep.cfg.Duration.Seconds())
	ids := "contiguous, each once"
	if c.idProblems != "" {
		ids = c.idProblems
	}
	fmt.Fprintf(w, "| ids | %s |\n", ids)
}
