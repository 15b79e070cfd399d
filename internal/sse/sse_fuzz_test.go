package sse

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// parseFrames parses an SSE stream as the WHATWG algorithm does (fields
// id, event, data; comments and retry ignored) and returns its frames.
func parseFrames(stream []byte) []Event {
	var (
		out  []Event
		cur  Event
		data [][]byte
		set  bool
	)
	// Lines end at CRLF, CR or LF.
	norm := bytes.ReplaceAll(stream, []byte("\r\n"), []byte("\n"))
	norm = bytes.ReplaceAll(norm, []byte("\r"), []byte("\n"))
	lines := bytes.Split(norm, []byte("\n"))
	for _, line := range lines[:len(lines)-1] {
		if len(line) == 0 {
			if set {
				cur.Data = bytes.Join(data, []byte("\n"))
				out = append(out, cur)
			}
			cur, data, set = Event{}, nil, false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			cur.ID, set = string(value), true
		case "event":
			cur.Type, set = string(value), true
		case "data":
			data, set = append(data, value), true
		}
	}
	return out
}

// FuzzEncodeRoundTrip: whatever the payload, an encoded frame parses back as exactly
// one frame with the same id, type and data (line breaks normalised to LF),
// or the encoder refuses the id or type.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add("7", "message", []byte(`{"a":1}`))
	f.Add("", "", []byte("a\r\nb\rc\nd"))
	f.Add("1\n", "x", []byte("data: injected\n\nid: 9"))
	f.Add("2", "message\r\nid: 3", []byte(""))
	f.Add("3", "", []byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, id, typ string, data []byte) {
		got, err := Event{ID: id, Type: typ, Data: data}.Encode()
		if err != nil {
			if !strings.ContainsAny(id, "\r\n\x00") && !strings.ContainsAny(typ, "\r\n") {
				t.Fatalf("refused a clean id %q / type %q: %v", id, typ, err)
			}
			return
		}
		frames := parseFrames(got)
		if len(frames) != 1 {
			t.Fatalf("%q encodes as %d frames: %q", data, len(frames), got)
		}
		want := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		want = bytes.ReplaceAll(want, []byte("\r"), []byte("\n"))
		fr := frames[0]
		// A leading space of a value is eaten by the parser's one-space
		// rule only once, and the encoder always writes that space.
		if fr.ID != id || fr.Type != typ || !bytes.Equal(fr.Data, want) {
			t.Fatalf("round trip of {%q %q %q} gave {%q %q %q}", id, typ, data, fr.ID, fr.Type, fr.Data)
		}
	})
}

// FuzzAppendRetry: a retry block is one field and never a frame.
func FuzzAppendRetry(f *testing.F) {
	f.Add(int64(1500))
	f.Add(int64(-1))
	f.Fuzz(func(t *testing.T, ms int64) {
		out := AppendRetry(nil, time1(ms))
		if n := len(parseFrames(out)); n != 0 {
			t.Fatalf("retry block %q parses as %d frames", out, n)
		}
		if !bytes.HasPrefix(out, []byte("retry: ")) || !bytes.HasSuffix(out, []byte("\n\n")) || bytes.Count(out, []byte("\n")) != 2 {
			t.Fatalf("retry block %q", out)
		}
	})
}

func time1(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
