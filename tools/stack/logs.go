package stack

import (
	"bytes"
	"io"
	"sync"
)

// LogMux writes the output of every part of the stack to one writer, a
// whole line at a time, each line prefixed with the part's name.
type LogMux struct {
	mu  sync.Mutex
	out io.Writer
}

// NewLogMux returns a LogMux writing to out; nil discards.
func NewLogMux(out io.Writer) *LogMux {
	if out == nil {
		out = io.Discard
	}
	return &LogMux{out: out}
}

// Part returns a writer whose lines appear as "[name] line". It is safe for
// concurrent use.
func (m *LogMux) Part(name string) io.Writer {
	return &prefixWriter{mux: m, prefix: []byte("[" + name + "] ")}
}

// prefixWriter buffers a partial line until its newline arrives.
type prefixWriter struct {
	mux    *LogMux
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := append(append([]byte{}, w.prefix...), w.buf[:i+1]...)
		w.buf = w.buf[i+1:]
		w.mux.mu.Lock()
		_, err := w.mux.out.Write(line)
		w.mux.mu.Unlock()
		if err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
