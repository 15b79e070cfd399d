package sse

import (
	"errors"
	"testing"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"full", Event{ID: "7", Type: "message", Data: []byte(`{"a":1}`)}, "id: 7\nevent: message\ndata: {\"a\":1}\n\n"},
		{"data only", Event{Data: []byte("x")}, "data: x\n\n"},
		{"empty data", Event{ID: "1"}, "id: 1\ndata: \n\n"},
		{"multi-line LF", Event{Data: []byte("a\nb")}, "data: a\ndata: b\n\n"},
		{"multi-line CRLF", Event{Data: []byte("a\r\nb")}, "data: a\ndata: b\n\n"},
		{"multi-line CR", Event{Data: []byte("a\rb")}, "data: a\ndata: b\n\n"},
		{"trailing newline", Event{Data: []byte("a\n")}, "data: a\ndata: \n\n"},
		{"smuggled field", Event{Data: []byte("x\nevent: evil")}, "data: x\ndata: event: evil\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.ev.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("Encode = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeRejectsInjection(t *testing.T) {
	t.Parallel()
	for name, ev := range map[string]Event{
		"id LF":    {ID: "1\nevent: x"},
		"id CR":    {ID: "1\r"},
		"id NUL":   {ID: "1\x00"},
		"event LF": {Type: "message\ndata: x"},
		"event CR": {Type: "message\r"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := ev.Encode(); !errors.Is(err, ErrFieldInjection) {
				t.Fatalf("Encode err = %v, want ErrFieldInjection", err)
			}
		})
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("1", "message", []byte("hello\nworld"))
	f.Fuzz(func(t *testing.T, id, typ string, data []byte) {
		out, err := Event{ID: id, Type: typ, Data: data}.Encode()
		if err != nil {
			return
		}
		// A frame has exactly one blank line: at its end.
		n := 0
		for i := 1; i < len(out); i++ {
			if out[i] == '\n' && out[i-1] == '\n' {
				n++
			}
		}
		if n != 1 || out[len(out)-1] != '\n' || out[len(out)-2] != '\n' {
			t.Fatalf("frame %q does not end in exactly one blank line", out)
		}
	})
}
