package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// SSEFrame is one dispatched block of a Server-Sent Events stream: the
// fields internal/sse encodes, and a retry field if the block had one.
type SSEFrame struct {
	sse.Event
	// Retry is the block's reconnection delay; HasRetry says it had one.
	Retry    time.Duration
	HasRetry bool
}

// IsEvent reports whether the block dispatches an event in a browser: it
// has data. A block with only a retry field does not.
func (f SSEFrame) IsEvent() bool { return f.Data != nil }

// String is the block as internal/sse encodes it (the retry field first),
// for comparisons and failure messages.
func (f SSEFrame) String() string {
	var out []byte
	if f.HasRetry {
		out = sse.AppendRetry(out, f.Retry)
	}
	if f.IsEvent() {
		b, err := f.Event.Append(out)
		if err != nil {
			return fmt.Sprintf("{id:%q event:%q data:%q (%v)}", f.ID, f.Type, f.Data, err)
		}
		out = b
	}
	return string(out)
}

// SSEReader parses a Server-Sent Events stream as the WHATWG HTML standard
// does: fields up to a blank line make a block, data lines are joined with
// newlines, a line starting with a colon (a keep-alive) is a comment.
type SSEReader struct {
	br *bufio.Reader
}

// NewSSEReader reads frames from r.
func NewSSEReader(r io.Reader) *SSEReader { return &SSEReader{br: bufio.NewReader(r)} }

// Next returns the next block that has a field (id, event, data or retry);
// comment-only blocks are skipped. It returns io.EOF when the stream ends
// between blocks and io.ErrUnexpectedEOF inside one.
func (r *SSEReader) Next() (SSEFrame, error) {
	var (
		f    SSEFrame
		data []string
		set  bool
	)
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && (set || line != "") {
				return SSEFrame{}, io.ErrUnexpectedEOF
			}
			return SSEFrame{}, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if !set {
				continue
			}
			if data != nil {
				f.Data = []byte(strings.Join(data, "\n"))
			}
			return f, nil
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			f.ID = value
		case "event":
			f.Type = value
		case "data":
			data = append(data, value)
		case "retry":
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				continue // ignored, as a browser does
			}
			f.Retry, f.HasRetry = time.Duration(ms)*time.Millisecond, true
		default:
			continue
		}
		set = true
	}
}

// SSEStream reads a stream's blocks in a goroutine so a test can wait for
// the next one with a bound. Close it (or cancel the request) when done.
type SSEStream struct {
	frames chan SSEFrame
	done   chan struct{}
	body   io.Closer

	mu   sync.Mutex
	seen []SSEFrame // every block taken by Next, for failure messages
	err  error      // why the stream ended
}

// NewSSEStream starts reading body.
func NewSSEStream(body io.ReadCloser) *SSEStream {
	s := &SSEStream{frames: make(chan SSEFrame, 1024), done: make(chan struct{}), body: body}
	go func() {
		defer close(s.done)
		defer close(s.frames)
		r := NewSSEReader(body)
		for {
			f, err := r.Next()
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.frames <- f
		}
	}()
	return s
}

// Frames is the channel of blocks; it is closed when the stream ends.
func (s *SSEStream) Frames() <-chan SSEFrame { return s.frames }

// Done is closed once the stream has ended.
func (s *SSEStream) Done() <-chan struct{} { return s.done }

// Err is why the stream ended (io.EOF for a clean end), nil while it runs.
func (s *SSEStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next returns the next block, skipping those without data when events is
// true. It fails t if the stream ends, or if nothing comes within
// Patience(t, usual): usual is how long the block normally takes.
func (s *SSEStream) Next(t testing.TB, usual time.Duration, events bool) SSEFrame {
	t.Helper()
	timer := time.NewTimer(Patience(t, usual))
	defer timer.Stop()
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatalf("testkit: stream ended (%v); received so far: %s", s.Err(), s.History())
			}
			s.mu.Lock()
			s.seen = append(s.seen, f)
			s.mu.Unlock()
			if events && !f.IsEvent() {
				continue
			}
			return f
		case <-timer.C:
			t.Fatalf("testkit: no frame (usually within %s); received so far: %s", usual, s.History())
		}
	}
}

// History describes the blocks Next returned, for failure messages.
func (s *SSEStream) History() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]string, len(s.seen))
	for i, f := range s.seen {
		parts[i] = strconv.Quote(f.String())
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Close closes the body and waits for the reader to end.
func (s *SSEStream) Close() {
	_ = s.body.Close()
	<-s.done
}
