package load

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Routes counted by CallCounter.
const (
	RouteSend    = "POST /room/{room}/messages"
	RouteStream  = "GET /room/{room}/events"
	RouteHistory = "GET /room/{room}/messages"
)

// CallCounter reads the local stack's log and counts the functions'
// request lines by route: how many invocations the origin served. Lines
// are passed on to out.
type CallCounter struct {
	out io.Writer

	mu      sync.Mutex
	partial []byte
	counts  map[string]int
	// durations are the logged handler durations by route, in order.
	durations map[string][]float64
}

// NewCallCounter returns a CallCounter with no counts that passes every
// line written to it on to out.
func NewCallCounter(out io.Writer) *CallCounter {
	return &CallCounter{out: out, counts: map[string]int{}, durations: map[string][]float64{}}
}

// functionsPrefix starts the lines of the in-process functions in the
// stack's log.
var functionsPrefix = []byte("[functions] ")

// Write implements io.Writer.
func (c *CallCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.count(c.partial[:i])
		c.partial = c.partial[i+1:]
	}
	c.mu.Unlock()
	if c.out == nil {
		return len(p), nil
	}
	return c.out.Write(p)
}

// count counts one line if it is a function's request line.
func (c *CallCounter) count(line []byte) {
	rest, ok := bytes.CutPrefix(line, functionsPrefix)
	if !ok || !bytes.Contains(rest, []byte(`"msg":"request"`)) {
		return
	}
	var rec struct {
		Route      string  `json:"route"`
		DurationMs float64 `json:"durationMs"`
	}
	if json.Unmarshal(rest, &rec) == nil && rec.Route != "" {
		c.counts[rec.Route]++
		c.durations[rec.Route] = append(c.durations[rec.Route], rec.DurationMs)
	}
}

// Snapshot returns the counts so far.
func (c *CallCounter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Get returns the count of one route.
func (c *CallCounter) Get(route string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[route]
}

// Settle waits until route's count has not changed for quiet, or until
// limit has passed.
func (c *CallCounter) Settle(ctx context.Context, route string, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, since := c.Get(route), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if n := c.Get(route); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// DurationsSince returns the handler durations (ms) of route's
// invocations after the first from.
func (c *CallCounter) DurationsSince(route string, from int) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.durations[route]
	if from >= len(d) {
		return nil
	}
	return slices.Clone(d[from:])
}
