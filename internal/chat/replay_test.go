package chat_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

func msgEvent(id int64, text string) chat.Event {
	return chat.Event{ID: id, Room: "r", Type: chat.EventMessage,
		Message: &chat.Message{ID: id, Room: "r", User: "u", Text: text, HTML: text}}
}

// TestFramesWithin: a replay is cut at a frame boundary so that its body
// fits, always keeps its first event, skips tombstones (which still count
// as carried), and says where it stopped.
func TestFramesWithin(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 400)
	tomb := chat.Event{ID: 2, Room: "r", Type: chat.EventMessage}
	full := chat.Replay{Events: []chat.Event{msgEvent(1, big), tomb, msgEvent(3, big), msgEvent(4, big)}, LastID: 4}
	one, err := chat.AppendFrame(nil, msgEvent(1, big))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		max      int
		wantIDs  string
		wantLast int64
		wantMore bool
	}{
		{"everything fits", 1 << 20, "1,3,4", 4, false},
		{"two frames' worth", 2*len(one) + 10, "1,3", 3, true},
		{"one frame's worth: the tombstone after it is carried too", len(one) + 10, "1", 2, true},
		{"smaller than the first frame: it goes anyway", 10, "1", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, got, err := full.FramesWithin(tt.max)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "id: "); ok {
					ids = append(ids, v)
				}
			}
			if strings.Join(ids, ",") != tt.wantIDs || got.LastID != tt.wantLast || got.More != tt.wantMore {
				t.Errorf("ids %v last %d more %v, want %s %d %v", ids, got.LastID, got.More, tt.wantIDs, tt.wantLast, tt.wantMore)
			}
			if len(body) > max(tt.max, len(one)) {
				t.Errorf("body of %d bytes over %d", len(body), tt.max)
			}
		})
	}
}

// TestBlank pins the characters that render as nothing, and some that
// look empty-ish but are visible.
func TestBlank(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{' ', '\t', '\n', '\u00a0', '\u200b', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u034f',
		'\u0301', '\ufe0f', '\U000e0041', '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800', '\u17b4', '\u3000', '\u2028', '\u180e'} {
		if !chat.Blank(r) {
			t.Errorf("Blank(%U) = false, want true", r)
		}
	}
	for _, r := range []rune{'a', '.', '_', '\u2801', '\uac00', '\u0e01', '😀', '\u3163', '\u00b7'} {
		if chat.Blank(r) {
			t.Errorf("Blank(%U) = true, want false", r)
		}
	}
	// Every rune Blank accepts is one a message may not consist of alone.
	for r := rune(0x20); r < 0x3000; r++ {
		if chat.Blank(r) && !unicode.IsControl(r) {
			if _, err := chat.NormalizeText(string(r)); err == nil {
				t.Errorf("NormalizeText(%U) accepted a blank character", r)
			}
		}
	}
}
