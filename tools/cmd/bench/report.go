package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Date    time.Time
	Machine string
	Config  benchConfig
	Fanout  []fanoutResult
	Reads   []readResult
	Cold    []coldResult
	Sizes   []sizeResult
	// Throughput is the send and history rows at each concurrency and path.
	Throughput []throughputResult
	// Elapsed is the whole run, stack start to stop.
	Elapsed time.Duration
}

// fmtMs formats d in milliseconds.
func fmtMs(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// fmtRatio formats a ratio with two decimals.
func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

// fanoutPair returns the origin and raw results for n listeners.
func (r report) fanoutPair(n int) (origin, raw *fanoutResult) {
	for i := range r.Fanout {
		f := &r.Fanout[i]
		if f.Listeners != n {
			continue
		}
		switch f.Mode {
		case modeOrigin:
			origin = f
		case modeRaw:
			raw = f
		}
	}
	return origin, raw
}

// write renders the report as markdown.
func (r report) write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("## Benchmark run %s", r.Date.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("%s. Local stack: Pushpin → edge stand-in → API Gateway emulator → functions in-process → DynamoDB Local (in memory); "+
		"everything on 127.0.0.1 on this one machine, the benchmark's client included. %d measured messages per row after %d warm-up; "+
		"%d sequential requests per read row. Whole run %s.", r.Machine, r.Config.Messages, r.Config.Warmup, r.Config.Reads, r.Elapsed.Round(time.Second))
	p("")
	if len(r.Fanout) > 0 {
		var base *fanoutResult
		if o, _ := r.fanoutPair(r.Config.Listeners[0]); o != nil {
			base = o
		}
		p("### Send latency against listeners (origin work per message)")
		p("")
		p("Client POST round trip through Pushpin: validation, rendering, one DynamoDB transaction, one publish to Pushpin. "+
			"The ratio column compares each median with the %d-listener median; the raw publish is the baseline of the same run: "+
			"a publish POST straight to Pushpin (no Lambda, no DynamoDB). The send includes one such publish, so send − raw publish "+
			"is the origin's own work. Origin calls are the send/stream function invocations during the measured messages; "+
			"open listeners is the time to open all N streams (each is one stream function invocation).", r.Config.Listeners[0])
		p("")
		p("| listeners | send p50 | p90 | p99 | p50 vs %d listener(s) | raw publish p50 | send / raw publish (p50) | send − raw publish (p50) | same vs %d listener(s) | origin calls (send / stream) | open listeners |",
			r.Config.Listeners[0], r.Config.Listeners[0])
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		var baseOwn time.Duration
		if base != nil {
			if _, raw := r.fanoutPair(base.Listeners); raw != nil {
				baseOwn = base.Send.Median - raw.Send.Median
			}
		}
		for _, n := range r.Config.Listeners {
			o, raw := r.fanoutPair(n)
			if o == nil {
				continue
			}
			rawP50, vsRaw, own := time.Duration(0), math.NaN(), time.Duration(0)
			if raw != nil {
				rawP50, vsRaw, own = raw.Send.Median, load.Ratio(o.Send.Median, raw.Send.Median), o.Send.Median-raw.Send.Median
			}
			vsBase := math.NaN()
			if base != nil {
				vsBase = load.Ratio(o.Send.Median, base.Send.Median)
			}
			p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d / %d | %s |", n, fmtMs(o.Send.Median), fmtMs(o.Send.P90), fmtMs(o.Send.P99),
				fmtRatio(vsBase), fmtMs(rawP50), fmtRatio(vsRaw), fmtMs(own), fmtRatio(load.Ratio(own, baseOwn)), o.SendCalls, o.StreamCalls, fmtMs(o.Connect))
		}
		p("")
		p("### Delivery to the last listener")
		p("")
		p("From the start of the send (or raw publish) to the moment the last of N listeners has the whole frame. " +
			"Complete counts the measured messages that reached every listener (no loss, no duplicate).")
		p("")
		p("| listeners | origin p50 | p90 | p99 | raw publish p50 (the floor) | p90 | p99 | origin / raw (p50) | over the floor (p50) | complete (origin, raw) |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, n := range r.Config.Listeners {
			o, raw := r.fanoutPair(n)
			if o == nil {
				continue
			}
			rawS, complete := load.Summary{}, fmt.Sprintf("%d/%d", o.Complete, o.Messages)
			if raw != nil {
				rawS = raw.Delivery
				complete += fmt.Sprintf(", %d/%d", raw.Complete, raw.Messages)
			}
			if d := o.Dups + o.Unknown + o.ReadErrs; d > 0 {
				complete += fmt.Sprintf(" (origin: %d dup, %d unknown, %d broken)", o.Dups, o.Unknown, o.ReadErrs)
			}
			over := "–"
			if rawS.Median > 0 {
				over = fmt.Sprintf("%+.2f ms", float64(o.Delivery.Median-rawS.Median)/float64(time.Millisecond))
			}
			p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |", n, fmtMs(o.Delivery.Median), fmtMs(o.Delivery.P90), fmtMs(o.Delivery.P99),
				fmtMs(rawS.Median), fmtMs(rawS.P90), fmtMs(rawS.P99), fmtRatio(load.Ratio(o.Delivery.Median, rawS.Median)), over, complete)
		}
		p("")
	}
	if len(r.Reads) > 0 {
		p("### Reads through Pushpin")
		p("")
		p("| request | p50 | p90 | p99 | p50 vs baseline | what |")
		p("|---|---:|---:|---:|---:|---|")
		for _, rd := range r.Reads {
			p("| %s | %s | %s | %s | %s | %s |", rd.Name, fmtMs(rd.Lat.Median), fmtMs(rd.Lat.P90), fmtMs(rd.Lat.P99),
				fmtRatio(load.Ratio(rd.Lat.Median, r.Reads[0].Lat.Median)), rd.What)
		}
		p("")
	}
	if len(r.Throughput) > 0 {
		p("### Throughput: send and history at concurrency %s", joinInts(r.Config.Concurrency))
		p("")
		p("%d requests per row after one warm-up request per worker; sends spread over %d rooms (one writer per room up to "+
			"concurrency %d, several beyond, where they race for the next id). Straight at the API Gateway emulator, and through "+
			"Pushpin and the edge stand-in. DynamoDB calls and units are per answered request, counted by a tap in front of "+
			"DynamoDB Local (`ReturnConsumedCapacity` for reads; writes by DynamoDB's documented rules); failed calls are cancelled transactions (lost races).", r.Config.Requests, throughputRooms, throughputRooms)
		p("")
		p("| request | path | concurrency | req/s | p50 | p99 | failed | invocations / request | DynamoDB calls / request | WRU / request | RRU / request |")
		p("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
		for _, t := range r.Throughput {
			n := float64(max(t.OK, 1))
			p("| %s | %s | %d | %.0f | %s | %s | %d | %.2f | %s | %.2f | %.2f |", t.Request, t.Path, t.Concurrency, t.perSecond(),
				fmtMs(t.Lat.Median), fmtMs(t.Lat.P99), t.Failed, float64(t.Invocations)/n, perCall(t.DDB, n), t.DDB.BilledWRU/n, t.DDB.RRU/n)
		}
		p("")
	}
	if len(r.Reads) > 0 && r.Reads[0].N > 0 {
		p("### DynamoDB per route (sequential, through Pushpin)")
		p("")
		p("| request | invocations / request | DynamoDB calls / request | RRU / request | WRU / request |")
		p("|---|---:|---|---:|---:|")
		for _, t := range r.Throughput {
			if t.Concurrency == 1 && t.Path == pathPushpin {
				n := float64(max(t.OK, 1))
				p("| %s | %.2f | %s | %.2f | %.2f |", t.Request, float64(t.Invocations)/n, perCall(t.DDB, n), t.DDB.RRU/n, t.DDB.BilledWRU/n)
			}
		}
		for _, rd := range r.Reads {
			n := float64(rd.N)
			inv := 0
			for _, v := range rd.Usage.Invocations {
				inv += v
			}
			p("| %s | %.2f | %s | %.2f | %.2f |", rd.Name, float64(inv)/n, perCall(rd.Usage.DDB, n), rd.Usage.DDB.RRU/n, rd.Usage.DDB.BilledWRU/n)
		}
		p("")
	}
	if len(r.Cold) > 0 {
		p("### Cold start (real bootstrap under the Lambda RIE, %d runs each)", r.Config.ColdRuns)
		p("")
		p("Start is the RIE process start; the first invoke includes the bootstrap's exec and init and one real request " +
			"(DynamoDB Local where the function reads or writes). Built for this machine's architecture, as the RIE runs it. " +
			"Peak RSS is the bootstrap's VmHWM after two invokes.")
		p("")
		p("| function | start → first answer p50 | p90 | first invoke p50 | warm invoke p50 | first / warm | peak RSS |")
		p("|---|---:|---:|---:|---:|---:|---:|")
		for _, c := range r.Cold {
			rss := "–"
			if c.PeakRSSKiB > 0 {
				rss = fmt.Sprintf("%.1f MiB", float64(c.PeakRSSKiB)/1024)
			}
			p("| %s | %s | %s | %s | %s | %s | %s |", c.Function, fmtMs(c.Cold.Median), fmtMs(c.Cold.P90), fmtMs(c.FirstInvoke.Median),
				fmtMs(c.Warm.Median), fmtRatio(load.Ratio(c.FirstInvoke.Median, c.Warm.Median)), rss)
		}
		p("")
	}
	if len(r.Sizes) > 0 {
		p("### Deployment binaries (linux/arm64, `-tags lambda.norpc -trimpath -ldflags='-s -w'`)")
		p("")
		p("| function | bootstrap | gzip -9 |")
		p("|---|---:|---:|")
		for _, s := range r.Sizes {
			p("| %s | %.1f MiB | %.1f MiB |", s.Function, float64(s.Bytes)/(1<<20), float64(s.GzipSize)/(1<<20))
		}
		p("")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// joinInts joins counts with commas.
func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

// perCall formats DynamoDB calls per request: "TransactWriteItems 1.00".
func perCall(u ddbUsage, n float64) string {
	if len(u.Calls) == 0 {
		return "none"
	}
	ops := make([]string, 0, len(u.Calls))
	for op := range u.Calls {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %.2f", op, float64(u.Calls[op])/n)
	}
	return strings.Join(parts, ", ")
}
