package main

import (
	"bytes"
	"io"
	"sync"
)

// logMux writes the output of every part of the stack to one writer, a
// whole line at a time, each line prefixed with the part's name.
type logMux struct {
	mu  sync.Mutex
	out io.Writer
}

// part returns a writer whose lines appear as "[name] line".
func (m *logMux) part(name string) io.Writer {
	return &prefixWriter{mux: m, prefix: []byte("[" + name + "] ")}
}

// prefixWriter buffers a partial line until its newline arrives.
type prefixWriter struct {
	mux    *logMux
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
		line := w.buf[:i+1]
		w.mux.mu.Lock()
		_, err := w.mux.out.Write(append(append([]byte{}, w.prefix...), line...))
		w.mux.mu.Unlock()
		w.buf = w.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
