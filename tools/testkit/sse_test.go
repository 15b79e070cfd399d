package testkit

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// TestSSEReaderReadsWhatSSEEncodes: every frame internal/sse encodes comes
// back field for field, whatever the data's lines.
func TestSSEReaderReadsWhatSSEEncodes(t *testing.T) {
	t.Parallel()
	in := []sse.Event{
		{ID: "1", Type: "message", Data: []byte(`{"text":"hi"}`)},
		{ID: "2", Type: "delete", Data: []byte("line one\nline two\r\nline three\rfour")},
		{Data: []byte("")},
		{ID: "3", Data: []byte("no type")},
	}
	var stream []byte
	stream = sse.AppendRetry(stream, 2500*time.Millisecond)
	stream = append(stream, ":\n\n"...) // a keep-alive comment
	for _, ev := range in {
		var err error
		if stream, err = ev.Append(stream); err != nil {
			t.Fatal(err)
		}
	}
	r := NewSSEReader(strings.NewReader(string(stream)))
	f, err := r.Next()
	if err != nil || !f.HasRetry || f.Retry != 2500*time.Millisecond || f.IsEvent() {
		t.Fatalf("first block = %+v, %v; want the retry field alone", f, err)
	}
	for _, want := range in {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(want.Data))
		if got.ID != want.ID || got.Type != want.Type || string(got.Data) != wantData || !got.IsEvent() {
			t.Errorf("frame = %+v, want %+v", got, want)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestSSEReaderTruncatedBlock(t *testing.T) {
	t.Parallel()
	r := NewSSEReader(strings.NewReader("id: 1\ndata: x\n"))
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSSEStreamNext(t *testing.T) {
	t.Parallel()
	ev, err := sse.Event{ID: "7", Type: "message", Data: []byte("x")}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := NewSSEStream(io.NopCloser(strings.NewReader(string(sse.AppendRetry(nil, time.Second)) + string(ev))))
	defer s.Close()
	if got := s.Next(t, time.Second, true); got.String() != string(ev) {
		t.Fatalf("Next = %q, want %q", got.String(), ev)
	}
}

func TestLockedBuffer(t *testing.T) {
	t.Parallel()
	var b LockedBuffer
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	for range 4 {
		<-done
	}
	if b.Len() != 400 {
		t.Fatalf("Len = %d, want 400", b.Len())
	}
}

func TestPatienceNeverBelowUsual(t *testing.T) {
	t.Parallel()
	if got := Patience(t, time.Hour*1000); got != time.Hour*1000 {
		t.Fatalf("Patience = %s, want at least the usual time", got)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	if got := names([]Tool{Pushpin, DynamoDBLocal, Chromium}); got != "Pushpin, DynamoDB Local (Java) and Chromium" {
		t.Fatalf("names = %q", got)
	}
}
