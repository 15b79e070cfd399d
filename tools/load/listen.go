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

// Frame is one SSE frame with a numeric id.
type Frame struct {
	// ID is the frame's id field.
	ID int64
	// Event is its event field ("" when absent).
	Event string
}

// ReadFrames reads an SSE stream and calls fn with every complete frame
// that has a numeric id, in order, when its terminating blank line
// arrives, and retry (when not nil) with every retry field. Comments and
// frames without an id are skipped. It returns when r ends.
func ReadFrames(r io.Reader, fn func(Frame), retry func(time.Duration)) error {
	br := bufio.NewReaderSize(r, 16<<10)
	id, event := "", ""
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
			if id != "" {
				if n, err := strconv.ParseInt(id, 10, 64); err == nil {
					fn(Frame{ID: n, Event: event})
				}
			}
			id, event = "", ""
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimPrefix(strings.TrimPrefix(line, "id:"), " ")
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimPrefix(strings.TrimPrefix(line, "event:"), " ")
		case strings.HasPrefix(line, "retry:") && retry != nil:
			if ms, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "retry:"))); err == nil && ms >= 0 {
				retry(time.Duration(ms) * time.Millisecond)
			}
		}
	}
}

// Listeners holds N open SSE connections through Pushpin that feed a
// Tracker.
type Listeners struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	t      *Tracker
	// ReadErrs counts streams that ended with an error other than the
	// cancellation that closes them.
	ReadErrs atomic.Int64
}

// OpenListeners connects n listeners to url (an events URL through
// Pushpin), at most parallel at a time, and returns once every one has its
// response headers: Pushpin has the hold and has subscribed the channel.
func OpenListeners(ctx context.Context, client *http.Client, url string, n, parallel int, t *Tracker) (*Listeners, error) {
	lctx, cancel := context.WithCancel(ctx)
	ls := &Listeners{cancel: cancel, t: t}
	sem := make(chan struct{}, parallel)
	errc := make(chan error, n)
	var opened sync.WaitGroup
	for range n {
		opened.Add(1)
		sem <- struct{}{}
		go func() {
			defer opened.Done()
			defer func() { <-sem }()
			req, err := http.NewRequestWithContext(lctx, http.MethodGet, url, nil)
			if err != nil {
				errc <- fmt.Errorf("listen request %s: %w", url, err)
				return
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := client.Do(req)
			if err != nil {
				errc <- fmt.Errorf("listen %s: %w", url, err)
				return
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				_ = resp.Body.Close()
				errc <- fmt.Errorf("listen %s: %s %s: %s", url, resp.Status, resp.Header.Get("Content-Type"), body)
				return
			}
			ls.wg.Add(1)
			go func() {
				defer ls.wg.Done()
				defer resp.Body.Close()
				var seen int64
				err := FrameIDs(resp.Body, func(id int64) {
					now := time.Now()
					if id <= seen {
						t.Dups.Add(1)
						return
					}
					seen = id
					t.Record(id, now)
				})
				if err != nil && lctx.Err() == nil {
					ls.ReadErrs.Add(1)
				}
			}()
		}()
	}
	opened.Wait()
	close(errc)
	if err := <-errc; err != nil {
		ls.Close()
		return nil, err
	}
	return ls, nil
}

// Close closes every connection and waits for the readers.
func (ls *Listeners) Close() {
	ls.cancel()
	ls.wg.Wait()
}
