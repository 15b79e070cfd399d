package main

import (
	"github.com/fanout-chat/serverless-chat/tools/load"

	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/apigw"
)

// costConfig is what the cost workload (`make cost`) measures.
type costConfig struct {
	// Listeners is the comma-separated listener counts; counts the parsed
	// list.
	Listeners string
	counts    []int
	// Messages is how many messages are sent per listener count.
	Messages int
	// Idle is how long idle listeners are watched; LinkTimeout is the
	// LINK_TIMEOUT (seconds) of that run, short so that the window holds a
	// few periods.
	Idle        time.Duration
	LinkTimeout int
	// LiveListeners is how many live listeners (the web page's stream) are
	// watched for Idle as well (0: none).
	LiveListeners int
}

// presenceTTL is the PRESENCE_TTL of the cost run: twice its LINK_TIMEOUT,
// so that the refresh gap (a quarter of it) stays well below the cadence
// of the next links. With the default (LINK_TIMEOUT + 30 s) the gap would
// be its 5-s bound, as long as the run's short LINK_TIMEOUT, and a next
// link fetched a little early would write and publish nothing: fewer
// refreshes than at the 60-s default, where every next link refreshes.
func (c costConfig) presenceTTL() time.Duration {
	return 2 * time.Duration(c.LinkTimeout) * time.Second
}

// usage is what the origin did in one window: invocations and billed
// milliseconds by route, DynamoDB calls and units, publishes.
type usage struct {
	Invocations map[string]int
	// BilledMs sums each invocation's handler duration rounded up to the
	// millisecond, as Lambda bills.
	BilledMs          float64
	DDB               ddbUsage
	Publishes, Items  int
	apiRequests       int
	invocationsStream int
}

// meter marks a point from which a usage is measured.
type meter struct {
	calls     map[string]int
	ddb       ddbUsage
	pub, item int
}

// mark returns the current meter readings.
func (b *bench) mark() meter {
	pub, item := b.ptap.snapshot()
	return meter{calls: b.calls.Snapshot(), ddb: b.dtap.snapshot(), pub: pub, item: item}
}

// since returns the usage from m to now.
func (b *bench) since(m meter) usage {
	now := b.mark()
	u := usage{Invocations: map[string]int{}, DDB: now.ddb.minus(m.ddb), Publishes: now.pub - m.pub, Items: now.item - m.item}
	for route, n := range now.calls {
		d := n - m.calls[route]
		if d == 0 {
			continue
		}
		u.Invocations[route] = d
		u.apiRequests += d
		ds := b.calls.DurationsSince(route, m.calls[route])
		if len(ds) > d {
			ds = ds[:d]
		}
		for _, ms := range ds {
			u.BilledMs += math.Ceil(ms)
		}
	}
	u.invocationsStream = u.Invocations[load.RouteStream]
	return u
}

// costSample is the measured usage at one listener count.
type costSample struct {
	Listeners, Messages int
	// PerMessage is the usage of the measured messages (divide by
	// Messages); Deliveries the frames the listeners received.
	PerMessage usage
	Deliveries int
	// Subscribe is the usage of opening every listener, until Pushpin's
	// follow-up calls are over (divide by Listeners).
	Subscribe usage
}

// idleSample is the usage of idle listeners over a window.
type idleSample struct {
	Listeners   int
	Window      time.Duration
	LinkTimeout time.Duration
	Usage       usage
}

// costReport is everything the cost workload measured, with what the
// prices need from the template.
type costReport struct {
	Date    time.Time
	Machine string
	Elapsed time.Duration
	Samples []costSample
	Idle    idleSample
	// Live is the live listeners' usage (Listeners 0: not measured).
	Live liveSample
	// MemoryMB is each function's configured memory; DefaultLinkTimeout the
	// template's LinkTimeout default.
	MemoryMB           map[string]int
	DefaultLinkTimeout time.Duration
}

// measureCost runs the cost workload: per listener count, open the
// listeners, send the messages one at a time, and once watch the listeners
// idle.
func (b *bench) measureCost(ctx context.Context, cfg costConfig, root string) (costReport, error) {
	rep := costReport{MemoryMB: map[string]int{}}
	tmpl, err := apigw.LoadTemplate(filepath.Join(root, "template.yaml"), nil)
	if err != nil {
		return rep, fmt.Errorf("cost: %w", err)
	}
	for id, fn := range tmpl.Functions {
		rep.MemoryMB[id] = fn.MemorySize
	}
	lt, err := strconv.Atoi(tmpl.Parameters["LinkTimeout"])
	if err != nil {
		return rep, fmt.Errorf("cost: template LinkTimeout %q: %w", tmpl.Parameters["LinkTimeout"], err)
	}
	rep.DefaultLinkTimeout = time.Duration(lt) * time.Second

	idleAt := cfg.counts[len(cfg.counts)-1]
	for _, n := range cfg.counts {
		if n >= 100 {
			idleAt = n
			break
		}
	}
	for _, n := range cfg.counts {
		b.progress.Info("cost workload", "listeners", n, "messages", cfg.Messages)
		s, idle, err := b.costRun(ctx, n, cfg, n == idleAt)
		if err != nil {
			return rep, err
		}
		rep.Samples = append(rep.Samples, s)
		if n == idleAt {
			rep.Idle = idle
		}
	}
	if cfg.LiveListeners > 0 {
		if rep.Live, err = b.liveRun(ctx, cfg); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// costRun measures one listener count.
func (b *bench) costRun(ctx context.Context, n int, cfg costConfig, watchIdle bool) (costSample, idleSample, error) {
	room := fanoutRoom(modeOrigin, n)
	s := costSample{Listeners: n, Messages: cfg.Messages}
	var idle idleSample
	total := int64(cfg.Messages + 1)
	tr := load.NewTracker(n, total)
	m := b.mark()
	ls, err := load.OpenListeners(ctx, b.listenClient, b.stack.URL()+"/room/"+room+"/events", n, b.cfg.ConnectParallel, tr)
	if err != nil {
		return s, idle, fmt.Errorf("cost: open %d listeners: %w", n, err)
	}
	defer ls.Close()
	// Pushpin checks each new hold's next link about a second after it
	// subscribes: part of what a subscription costs.
	b.calls.Settle(ctx, load.RouteStream, 2*time.Second, 60*time.Second)
	s.Subscribe = b.since(m)

	// The room's first message (the send function's first write to it);
	// then the measured ones.
	for i := int64(1); i <= total; i++ {
		if i == 2 {
			m = b.mark()
		}
		id, err := b.sendOrigin(ctx, room, i)
		if err != nil {
			return s, idle, fmt.Errorf("cost: send %d: %w", i, err)
		}
		_, got := tr.WaitFor(ctx, id, b.cfg.DeliveryTimeout)
		if i >= 2 {
			s.Deliveries += got
		}
	}
	b.calls.Settle(ctx, load.RouteSend, 300*time.Millisecond, 5*time.Second)
	s.PerMessage = b.since(m)

	if watchIdle {
		b.progress.Info("cost workload: idle listeners", "listeners", n, "window", cfg.Idle.String(), "linkTimeout", cfg.LinkTimeout)
		m = b.mark()
		t0 := time.Now()
		select {
		case <-ctx.Done():
			return s, idle, ctx.Err()
		case <-time.After(cfg.Idle):
		}
		idle = idleSample{Listeners: n, Window: time.Since(t0), LinkTimeout: time.Duration(cfg.LinkTimeout) * time.Second, Usage: b.since(m)}
	}
	return s, idle, nil
}
