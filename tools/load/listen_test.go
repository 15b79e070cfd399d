package load

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFrameIDs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stream string
		want   []int64
	}{
		{"frames", "id: 1\nevent: message\ndata: {}\n\nid: 2\ndata: x\n\n", []int64{1, 2}},
		{"comments and keep-alives", ":\n\n: hi\n\nid: 3\ndata: x\n\n", []int64{3}},
		{"crlf and no space", "id:4\r\ndata: x\r\n\r\n", []int64{4}},
		{"incomplete last frame", "id: 5\ndata: x\n\nid: 6\ndata: y\n", []int64{5}},
		{"frame without id", "event: message\ndata: x\n\n", nil},
		{"id does not leak into next frame", "id: 7\ndata: a\n\ndata: b\n\n", []int64{7}},
		{"non-numeric id", "id: abc\ndata: x\n\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []int64
			if err := FrameIDs(strings.NewReader(tc.stream), func(id int64) { got = append(got, id) }); err != nil {
				t.Fatalf("frameIDs: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTracker(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	cases := []struct {
		name      string
		listeners int
		records   []int64 // ids, one receipt each, at base + index ms
		wait      int64
		wantAll   bool
		wantCount int
		wantLast  time.Time
		unknown   int64
	}{
		{"all received", 3, []int64{1, 1, 1}, 1, true, 3, base.Add(2 * time.Millisecond), 0},
		{"one missing", 3, []int64{1, 1}, 1, false, 2, time.Time{}, 0},
		{"other ids do not count", 2, []int64{1, 2, 2}, 1, false, 1, time.Time{}, 0},
		{"out of range", 1, []int64{9, 0}, 1, false, 0, time.Time{}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := NewTracker(tc.listeners, 3)
			// Record latest first, so the maximum is not simply the last call.
			for i := len(tc.records) - 1; i >= 0; i-- {
				tr.Record(tc.records[i], base.Add(time.Duration(i)*time.Millisecond))
			}
			last, count := tr.WaitFor(context.Background(), tc.wait, 10*time.Millisecond)
			if count != tc.wantCount || (tc.wantAll && !last.Equal(tc.wantLast)) || (!tc.wantAll && !last.IsZero()) {
				t.Errorf("waitFor = %v, %d; want %v, %d", last, count, tc.wantLast, tc.wantCount)
			}
			if got := tr.Unknown.Load(); got != tc.unknown {
				t.Errorf("unknown = %d, want %d", got, tc.unknown)
			}
		})
	}
}

// TestReadAllFrames: frames without an id count too; comments, a block
// holding only a retry field and an unterminated block are not frames.
func TestReadAllFrames(t *testing.T) {
	t.Parallel()
	stream := ": keep-alive\n\n" +
		"retry: 2000\n\n" +
		"event: presence-list\ndata: {}\n\n" +
		"id: 7\ndata: a message\n\n" +
		":\n" +
		"event: presence\r\ndata: {}\r\n\r\n" +
		"id: x\nevent: typing\ndata: {}\n\n" +
		"event: typing\ndata: {}\n" // unterminated: not a frame
	var got []Frame
	if err := ReadAllFrames(strings.NewReader(stream), func(f Frame) { got = append(got, f) }, nil); err != nil {
		t.Fatal(err)
	}
	want := []Frame{{Event: "presence-list"}, {ID: 7, HasID: true}, {Event: "presence"}, {Event: "typing"}}
	if !slices.Equal(got, want) {
		t.Errorf("frames = %+v, want %+v", got, want)
	}
}

// TestReadFrames: frames carry their event type; retry fields are reported.
func TestReadFrames(t *testing.T) {
	t.Parallel()
	var frames []Frame
	var retries []time.Duration
	stream := "retry: 1500\n\nid: 1\nevent: message\ndata: x\n\nid: 2\nevent: stream-reset\ndata: y\n\nid: 3\ndata: z\n\n"
	if err := ReadFrames(strings.NewReader(stream), func(f Frame) { frames = append(frames, f) }, func(d time.Duration) { retries = append(retries, d) }); err != nil {
		t.Fatal(err)
	}
	want := []Frame{{1, true, "message"}, {2, true, "stream-reset"}, {3, true, ""}}
	if !slices.Equal(frames, want) {
		t.Errorf("frames = %v, want %v", frames, want)
	}
	if !slices.Equal(retries, []time.Duration{1500 * time.Millisecond}) {
		t.Errorf("retries = %v", retries)
	}
}
