package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
)

// report is what a run found.
type report struct {
	cfg     config
	date    time.Time
	machine string
	elapsed time.Duration
	// err is why the run stopped early, if it did.
	err error

	// soak
	floor                     load.Summary
	loadTime, drain           time.Duration
	events                    int64
	sends, sendsOK, attempts  int
	sendStatuses              map[int]int
	lost, dups, disorder      int
	skips                     []string
	resets                    int
	delivery, live, lastOfMsg load.Summary
	connects, drops           int64
	connectErrs               map[int]int64
	faults                    []*fault
	relay                     map[string]int64
	memBefore, memPeak        memory
	memAfter                  memory
	restarts                  int

	// storm
	storm *stormResult

	// contention
	cont *contentionResult
}

// tally counts what the listeners got against what was stored.
func (rep *report) tally(results []sendResult, ls []*listener, faults []*fault, rl *relay) {
	rep.sends = len(results)
	rep.sendStatuses = map[int]int{}
	stored := map[int64]time.Time{}
	for _, s := range results {
		rep.attempts += s.attempts
		for _, st := range s.statuses {
			rep.sendStatuses[st]++
		}
		if s.ok {
			rep.sendsOK++
			stored[s.id] = s.stored
		}
	}
	rep.connectErrs = map[int]int64{}
	var all, live []time.Duration
	lastOf := map[int64]time.Time{}
	for _, l := range ls {
		l.mu.Lock()
		for id := int64(1); id <= rep.events; id++ {
			if !l.got[id] {
				rep.lost++
			}
		}
		rep.dups += l.dups
		rep.disorder += l.disorder
		rep.resets += l.resets
		for _, sk := range l.skips {
			if len(rep.skips) < 20 {
				rep.skips = append(rep.skips, sk)
			}
		}
		for _, rc := range l.receipts {
			t0, ok := stored[rc.id]
			if !ok {
				continue
			}
			d := rc.at.Sub(t0)
			all = append(all, d)
			if rc.since.Before(t0) {
				live = append(live, d)
			}
			if rc.at.After(lastOf[rc.id]) {
				lastOf[rc.id] = rc.at
			}
		}
		l.mu.Unlock()
		rep.connects += l.connects.Load()
		rep.drops += l.drops.Load()
		l.errorsByStatus.Range(func(k, v any) bool {
			rep.connectErrs[k.(int)] += v.(interface{ Load() int64 }).Load()
			return true
		})
	}
	var last []time.Duration
	for id, at := range lastOf {
		last = append(last, at.Sub(stored[id]))
	}
	rep.delivery, rep.live, rep.lastOfMsg = load.Summarize(all), load.Summarize(live), load.Summarize(last)

	// Recovery after each fault: until every listener had every event up
	// to the first one stored after the fault.
	for _, f := range faults {
		var next int64
		var nextAt time.Time
		for id, at := range stored {
			if at.After(f.atTime) && (next == 0 || at.Before(nextAt)) {
				next, nextAt = id, at
			}
		}
		if next == 0 {
			continue
		}
		var done time.Time
		ok := true
		for _, l := range ls {
			l.mu.Lock()
			var latest time.Time
			have := map[int64]bool{}
			for _, rc := range l.receipts {
				if rc.id <= next {
					have[rc.id] = true
					if rc.at.After(latest) {
						latest = rc.at
					}
				}
			}
			l.mu.Unlock()
			if int64(len(have)) < next {
				ok = false
			}
			if latest.After(done) {
				done = latest
			}
		}
		if ok {
			f.recovery = done.Sub(f.atTime)
		}
	}
	rep.faults = faults
	rep.relay = map[string]int64{
		"publishes": rl.publishes.Load(), "dropped": rl.dropped.Load(), "delayed": rl.delayed.Load(),
		"duplicated": rl.duplicated.Load(), "reordered": rl.reordered.Load(), "forward errors": rl.forwardErrs.Load(),
	}
}

// failed reports whether the run broke a guarantee.
func (rep *report) failed() bool {
	if rep.err != nil {
		return true
	}
	switch rep.cfg.Mode {
	case "soak":
		return rep.lost > 0 || rep.dups > 0 || rep.disorder > 0 || rep.resets > 0 || rep.sendsOK < rep.sends
	case "storm":
		return rep.storm == nil || rep.storm.missing > 0
	case "contention":
		return rep.cont == nil || rep.cont.failed > 0 || rep.cont.idProblems != ""
	}
	return false
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func statuses(m map[int]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		name := fmt.Sprint(k)
		if k == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s × %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

func statuses64(m map[int]int64) string {
	c := map[int]int{}
	for k, v := range m {
		c[k] = int(v)
	}
	return statuses(c)
}

// write renders the report as markdown.
func (rep *report) write(w io.Writer) {
	c := rep.cfg
	fmt.Fprintf(w, "## %s run, %s\n\n%s. Whole run %s.\n\n", c.Mode, rep.date.UTC().Format("2006-01-02 15:04 UTC"), rep.machine, rep.elapsed.Round(time.Second))
	switch c.Mode {
	case "soak":
		rep.writeSoak(w)
	case "storm":
		rep.writeStorm(w)
	case "contention":
		rep.writeContention(w)
	}
	verdict := "PASS: nothing lost, duplicated or out of order"
	if rep.failed() {
		verdict = "FAIL"
	}
	if rep.err != nil {
		verdict += ": the run stopped early: " + rep.err.Error()
	}
	fmt.Fprintf(w, "\n**%s**\n", verdict)
}

func (rep *report) writeSoak(w io.Writer) {
	c := rep.cfg
	fmt.Fprintf(w, "Load: %d listeners on one room (each drops its connection every %s on average and resumes with Last-Event-ID), "+
		"%d senders at %.1f messages/s together plus a burst of %d messages over about 2 s every %s, for %s; "+
		"publish relay dropping %.0f %%, delaying %.0f %%, duplicating %.0f %% and reordering %.0f %% of publishes.\n\n",
		c.Listeners, c.DropEvery, c.Senders, c.Rate, c.Burst, c.BurstEvery, rep.loadTime.Round(time.Second),
		100*c.Faults.Drop, 100*c.Faults.Delay, 100*c.Faults.Dup, 100*c.Faults.Reorder)
	fmt.Fprintf(w, "| check | result |\n|---|---|\n")
	fmt.Fprintf(w, "| events stored (ids 1..n) | %d |\n", rep.events)
	fmt.Fprintf(w, "| events × listeners expected | %d |\n", rep.events*int64(c.Listeners))
	fmt.Fprintf(w, "| **lost** (never received) | **%d** |\n", rep.lost)
	fmt.Fprintf(w, "| **duplicated** | **%d** |\n", rep.dups)
	fmt.Fprintf(w, "| **out of order** (after a higher id, or skipping one) | **%d** |\n", rep.disorder)
	fmt.Fprintf(w, "| stream-reset frames | %d |\n", rep.resets)
	fmt.Fprintf(w, "| sends stored / made | %d / %d (%d attempts; failed attempts: %s) |\n", rep.sendsOK, rep.sends, rep.attempts, statuses(rep.sendStatuses))
	fmt.Fprintf(w, "| listener connections / drops on purpose | %d / %d |\n", rep.connects, rep.drops)
	fmt.Fprintf(w, "| failed (re)connects by status | %s |\n", statuses64(rep.connectErrs))
	fmt.Fprintf(w, "| drain after the load (last event to every listener) | %s |\n", ms(rep.drain))
	fmt.Fprintf(w, "| supervisor restarts | %d |\n\n", rep.restarts)
	if len(rep.skips) > 0 {
		fmt.Fprintf(w, "Out-of-order receipts (first %d):\n\n", len(rep.skips))
		for _, sk := range rep.skips {
			fmt.Fprintf(w, "- %s\n", sk)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "Delivery, from the start of the send attempt that stored the event to its receipt:\n\n")
	fmt.Fprintf(w, "| what | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, s load.Summary) {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", name, s.N, ms(s.Median), ms(s.P99), ms(s.Max))
	}
	row("floor: raw publish → last of the listeners (no origin, no faults)", rep.floor)
	row("every receipt", rep.delivery)
	row("receipts on a connection open before the send (live)", rep.live)
	row("each event → the last listener to get it", rep.lastOfMsg)
	if rep.floor.Median > 0 {
		fmt.Fprintf(w, "\nLive p50 / floor p50 = %.2f×; live p99 / floor p99 = %.2f×.\n",
			load.Ratio(rep.live.Median, rep.floor.Median), load.Ratio(rep.live.P99, rep.floor.P99))
	}
	fmt.Fprintf(w, "\nPublish relay: %s.\n\n", relayLine(rep.relay))
	if len(rep.faults) > 0 {
		fmt.Fprintf(w, "| process fault | at | recovery (every listener has every event up to the first stored after it) |\n|---|---:|---:|\n")
		for _, f := range rep.faults {
			rec := "not recovered"
			if f.recovery > 0 {
				rec = ms(f.recovery)
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", f.what, f.at.Round(time.Second), rec)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| memory (RSS) | before the load | peak | after, listeners gone + idle timeout |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(w, "| this process (functions, API emulator, edge, load clients) | %s | %s | %s |\n", mib(rep.memBefore.self), mib(rep.memPeak.self), mib(rep.memAfter.self))
	fmt.Fprintf(w, "| Pushpin (runner + helpers) | %s | %s | %s |\n", mib(rep.memBefore.pushpin), mib(rep.memPeak.pushpin), mib(rep.memAfter.pushpin))
	fmt.Fprintf(w, "| DynamoDB Local | %s | %s | %s |\n", mib(rep.memBefore.dynamo), mib(rep.memPeak.dynamo), mib(rep.memAfter.dynamo))
	fmt.Fprintf(w, "| Go heap in use | %s | — | %s |\n", mib(int64(rep.memBefore.heap)), mib(int64(rep.memAfter.heap)))
	fmt.Fprintf(w, "| open connections to the edge | %d | — | %d |\n", rep.memBefore.edgeConns, rep.memAfter.edgeConns)
}

func relayLine(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// lineCounter passes its input on and counts the lines holding a needle.
type lineCounter struct {
	out    io.Writer
	needle []byte

	mu      sync.Mutex
	partial []byte
	n       int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(c.partial[:i], c.needle) {
			c.n++
		}
		c.partial = c.partial[i+1:]
	}
	c.mu.Unlock()
	return c.out.Write(p)
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
