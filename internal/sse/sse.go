// Package sse encodes Server-Sent Events frames as the WHATWG HTML standard
// parses them. It is the one encoder of the project: the stream function and
// every publish go through it.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrFieldInjection is returned when an id or event name holds CR or LF,
// which would let a value start a new field or frame (CWE-93).
var ErrFieldInjection = errors.New("sse: field contains a line break")

// Event is one SSE frame.
type Event struct {
	// ID is the "id:" field; empty omits it. It must not contain CR, LF or NUL.
	ID string
	// Type is the "event:" field; empty omits it (the browser then
	// dispatches "message"). It must not contain CR or LF.
	Type string
	// Data is the payload; every line becomes its own "data:" line.
	Data []byte
}

// Append appends the encoded frame, ending in a blank line, to dst.
func (e Event) Append(dst []byte) ([]byte, error) {
	if strings.ContainsAny(e.ID, "\r\n\x00") {
		return dst, fmt.Errorf("encode id %q: %w", e.ID, ErrFieldInjection)
	}
	if strings.ContainsAny(e.Type, "\r\n") {
		return dst, fmt.Errorf("encode event %q: %w", e.Type, ErrFieldInjection)
	}
	if e.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, e.ID...)
		dst = append(dst, '\n')
	}
	if e.Type != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, e.Type...)
		dst = append(dst, '\n')
	}
	data := e.Data
	for {
		// A data line ends at CRLF, CR or LF; split on each so a payload
		// cannot smuggle a field of its own.
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			dst = append(dst, "data: "...)
			dst = append(dst, data...)
			dst = append(dst, '\n')
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(dst, '\n'), nil
}

// Encode returns the encoded frame.
func (e Event) Encode() ([]byte, error) { return e.Append(nil) }

// AppendRetry appends a "retry:" field, the reconnection delay in whole
// milliseconds (negative is written as 0), and the blank line that ends
// its block, to dst. A block with no data dispatches no event: browsers
// only store the delay.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, max(d.Milliseconds(), 0), 10)
	return append(dst, '\n', '\n')
}
