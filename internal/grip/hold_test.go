package grip

import (
	"net/http"
	"testing"
	"time"
)

func TestHoldApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hold Hold
		want map[string]string // "" means the header must be absent
	}{
		{
			name: "reliable stream",
			hold: Hold{Channel: "room-lobby", PrevID: "7", NextLink: "/room/lobby/events?lastEventId=7", LinkTimeout: 120 * time.Second, KeepAlive: 20 * time.Second},
			want: map[string]string{
				"Content-Type":    "text/event-stream",
				"Cache-Control":   "no-cache",
				"Grip-Hold":       "stream",
				"Grip-Channel":    "room-lobby; prev-id=7",
				"Grip-Link":       "</room/lobby/events?lastEventId=7>; rel=next; timeout=120",
				"Grip-Keep-Alive": `:\n\n; format=cstring; timeout=20; mode=idle`,
			},
		},
		{
			name: "defaults",
			hold: Hold{Channel: "room-a", PrevID: "0", NextLink: "/next"},
			want: map[string]string{
				"Grip-Channel":    "room-a; prev-id=0",
				"Grip-Link":       "</next>; rel=next",
				"Grip-Keep-Alive": `:\n\n; format=cstring; timeout=20; mode=idle`,
			},
		},
		{
			name: "timeouts rounded up",
			hold: Hold{Channel: "c", NextLink: "/n", LinkTimeout: 1500 * time.Millisecond, KeepAlive: 100 * time.Millisecond},
			want: map[string]string{
				"Grip-Link":       "</n>; rel=next; timeout=2",
				"Grip-Keep-Alive": `:\n\n; format=cstring; timeout=1; mode=idle`,
			},
		},
		{
			name: "more channels without prev-id",
			hold: Hold{Channel: "room-a", PrevID: "4", Also: []string{"room-a-live", "room-a-clock"}, NextLink: "/n"},
			want: map[string]string{
				"Grip-Channel": "room-a; prev-id=4, room-a-live, room-a-clock",
			},
		},
		{
			name: "plain subscription",
			hold: Hold{Channel: "news", KeepAlive: -1},
			want: map[string]string{
				"Grip-Hold":       "stream",
				"Grip-Channel":    "news",
				"Grip-Link":       "",
				"Grip-Keep-Alive": "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			h.Set("Grip-Link", "<stale>; rel=next")
			h.Set("Grip-Keep-Alive", "stale")
			tt.hold.Apply(h)
			for k, want := range tt.want {
				if want == "" {
					if v, ok := h[k]; ok {
						t.Errorf("header %s = %q, want absent", k, v)
					}
					continue
				}
				if got := h.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("header %s = %q, want [%q]", k, got, want)
				}
			}
		})
	}
}

func TestParseLast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		values  []string
		channel string
		want    string
		wantOK  bool
	}{
		{"one header", []string{"room-a; last-id=3"}, "room-a", "3", true},
		{"no space", []string{"room-a;last-id=3"}, "room-a", "3", true},
		{"several headers", []string{"room-a; last-id=3", "room-b; last-id=9"}, "room-b", "9", true},
		{"joined by commas", []string{"room-a; last-id=3, room-b; last-id=9"}, "room-b", "9", true},
		{"split by the proxy adapter", []string{"room-a; last-id=3", " room-b; last-id=9"}, "room-b", "9", true},
		{"quoted id", []string{`room-a; last-id="12"`}, "room-a", "12", true},
		{"other params", []string{"room-a; foo=bar; last-id=4"}, "room-a", "4", true},
		{"case of param", []string{"room-a; Last-ID=5"}, "room-a", "5", true},
		{"prefix is not a match", []string{"room-ab; last-id=3"}, "room-a", "", false},
		{"channel without last-id", []string{"room-a"}, "room-a", "", false},
		{"absent", []string{"room-b; last-id=9"}, "room-a", "", false},
		{"no values", nil, "room-a", "", false},
		{"empty id", []string{"room-a; last-id="}, "room-a", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseLast(tt.values, tt.channel)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseLast(%q, %q) = %q, %v; want %q, %v", tt.values, tt.channel, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
