package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker records, for every event id of one run, how many listeners have
// received it and when the last of them did. Listeners call Record
// concurrently; WaitFor returns once every listener has an id.
type Tracker struct {
	listeners int32
	counts    []atomic.Int32
	last      []atomic.Int64 // UnixNano of the latest receipt
	done      []chan struct{}
	// Dups counts frames a listener received twice or out of order;
	// Unknown counts ids outside the run's range.
	Dups, Unknown atomic.Int64
}

// NewTracker tracks ids 1..maxID for the given number of listeners.
func NewTracker(listeners int, maxID int64) *Tracker {
	t := &Tracker{
		listeners: int32(listeners),
		counts:    make([]atomic.Int32, maxID+1),
		last:      make([]atomic.Int64, maxID+1),
		done:      make([]chan struct{}, maxID+1),
	}
	for i := range t.done {
		t.done[i] = make(chan struct{})
	}
	return t
}

// Record notes that one listener received id at.
func (t *Tracker) Record(id int64, at time.Time) {
	if id < 1 || id >= int64(len(t.counts)) {
		t.Unknown.Add(1)
		return
	}
	ns := at.UnixNano()
	for {
		old := t.last[id].Load()
		if ns <= old || t.last[id].CompareAndSwap(old, ns) {
			break
		}
	}
	if t.counts[id].Add(1) == t.listeners {
		close(t.done[id])
	}
}

// WaitFor waits until every listener has received id, or timeout. It
// returns the time the last one did (zero when not all did) and how many
// did.
func (t *Tracker) WaitFor(ctx context.Context, id int64, timeout time.Duration) (time.Time, int) {
	if id < 1 || id >= int64(len(t.done)) {
		return time.Time{}, 0
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done[id]:
		return time.Unix(0, t.last[id].Load()), int(t.listeners)
	case <-timer.C:
	case <-ctx.Done():
	}
	return time.Time{}, int(t.counts[id].Load())
}

// FrameIDs reads an SSE stream and calls fn with the id of every complete
// frame that has one, in order, when its terminating blank line arrives.
// Comments and frames without an id are skipped. It returns when r ends.
func FrameIDs(r io.Reader, fn func(id int64)) error {
	return ReadFrames(r, func(f Frame) { fn(f.ID) }, nil)
}

// Frame is one SSE frame.
type Frame struct {
	// ID is the frame's numeric id field (0 when HasID is false).
	ID int64
	// HasID says whether the frame had a numeric id.
	HasID bool
	// Event is its event field ("" when absent).
	Event string
}

// ReadFrames reads an SSE stream and calls fn with every complete frame
// that has a numeric id, in order, when its terminating blank line
// arrives, and retry (when not nil) with every retry field. Comments and
// frames without an id are skipped. It returns when r ends.
func ReadFrames(r io.Reader, fn func(Frame), retry func(time.Duration)) error {
	return ReadAllFrames(r, func(f Frame) {
		if f.HasID {
			fn(f)
		}
	}, retry)
}

// ReadAllFrames is ReadFrames for every frame, with an id or without
// (live events such as presence carry none). A frame is a block of field
// lines ended by a blank line; comments (keep-alives) and a block holding
// only a retry field are not frames.
func ReadAllFrames(r io.Reader, fn func(Frame), retry func(time.Duration)) error {
	br := bufio.NewReaderSize(r, 16<<10)
	var f Frame
	fields := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read event stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if fields {
				fn(f)
			}
			f, fields = Frame{}, false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimPrefix(line, "id:"), " "), 10, 64)
			f.ID, f.HasID, fields = n, err == nil, true
			if err != nil {
				f.ID = 0
			}
		case strings.HasPrefix(line, "event:"):
			f.Event, fields = strings.TrimPrefix(strings.TrimPrefix(line, "event:"), " "), true
		case strings.HasPrefix(line, "retry:"):
			if ms, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "retry:"))); retry != nil && err == nil && ms >= 0 {
				retry(time.Duration(ms) * time.Millisecond)
			}
		default:
			fields = true
		}
	}
}

// Streams holds open SSE connections, each read by a goroutine of its own.
type Streams struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// ReadErrs counts streams that ended with an error other than the
	// cancellation that closes them.
	ReadErrs atomic.Int64
}

// OpenStreams opens n event streams with client, at most parallel at a
// time, and returns once every one has its response headers (through
// Pushpin: it has the hold and has subscribed the channels). newRequest
// builds the i-th request on ctx, the streams' own context; read consumes
// the i-th body until it ends or the streams are closed.
func OpenStreams(ctx context.Context, client *http.Client, n, parallel int,
	newRequest func(ctx context.Context, i int) (*http.Request, error), read func(i int, body io.Reader) error) (*Streams, error) {
	sctx, cancel := context.WithCancel(ctx)
	ss := &Streams{cancel: cancel}
	sem := make(chan struct{}, parallel)
	errc := make(chan error, n)
	var opened sync.WaitGroup
	for i := range n {
		opened.Add(1)
		sem <- struct{}{}
		go func() {
			defer opened.Done()
			defer func() { <-sem }()
			req, err := newRequest(sctx, i)
			if err != nil {
				errc <- fmt.Errorf("listen request: %w", err)
				return
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := client.Do(req)
			if err != nil {
				errc <- fmt.Errorf("listen %s: %w", req.URL, err)
				return
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				_ = resp.Body.Close()
				errc <- fmt.Errorf("listen %s: %s %s: %s", req.URL, resp.Status, resp.Header.Get("Content-Type"), body)
				return
			}
			ss.wg.Add(1)
			go func() {
				defer ss.wg.Done()
				defer resp.Body.Close()
				if err := read(i, resp.Body); err != nil && sctx.Err() == nil {
					ss.ReadErrs.Add(1)
				}
			}()
		}()
	}
	opened.Wait()
	close(errc)
	if err := <-errc; err != nil {
		ss.Close()
		return nil, err
	}
	return ss, nil
}

// Close closes every connection and waits for the readers.
func (ss *Streams) Close() {
	ss.cancel()
	ss.wg.Wait()
}

// Listeners holds N open SSE connections through Pushpin that feed a
// Tracker.
type Listeners struct {
	*Streams
}

// OpenListeners connects n listeners to url (an events URL through
// Pushpin), at most parallel at a time, and returns once every one has its
// response headers: Pushpin has the hold and has subscribed the channel.
// Each records the ids it receives in t.
func OpenListeners(ctx context.Context, client *http.Client, url string, n, parallel int, t *Tracker) (*Listeners, error) {
	newRequest := func(ctx context.Context, _ int) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
	read := func(_ int, body io.Reader) error {
		var seen int64
		return FrameIDs(body, func(id int64) {
			now := time.Now()
			if id <= seen {
				t.Dups.Add(1)
				return
			}
			seen = id
			t.Record(id, now)
		})
	}
	ss, err := OpenStreams(ctx, client, n, parallel, newRequest, read)
	if err != nil {
		return nil, err
	}
	return &Listeners{Streams: ss}, nil
}
