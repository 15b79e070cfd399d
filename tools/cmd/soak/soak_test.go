package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/tools/load"
)

// TestListenerChecks: the listener counts a repeated id as a duplicate,
// an id that skips one as out of order, and a stream-reset; contig is the
// highest id with every one before it.
func TestListenerChecks(t *testing.T) {
	t.Parallel()
	l := newListener("", nil, 0)
	since := time.Now()
	for _, f := range []load.Frame{{ID: 1}, {ID: 2}, {ID: 2}, {ID: 4}, {ID: 3}, {ID: 5, Event: "stream-reset"}} {
		l.receive(f, since)
	}
	if l.dups != 1 || l.disorder != 2 || l.resets != 1 {
		t.Errorf("dups %d, disorder %d, resets %d; want 1, 2, 1", l.dups, l.disorder, l.resets)
	}
	if !l.has(4) || l.has(5) {
		t.Errorf("contig = %d, want 4", l.contig)
	}
}

// TestRelayFaults: with every share at zero the relay forwards each
// publish once; with drop at one it forwards none and still answers as
// Pushpin does.
func TestRelayFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults relayFaults
		want   int
	}{
		{"clean", relayFaults{}, 3},
		{"all dropped", relayFaults{Drop: 1}, 0},
		{"all duplicated", relayFaults{Dup: 1}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			got := 0
			pushpin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got++
				mu.Unlock()
				_, _ = io.WriteString(w, "Published\n")
			}))
			defer pushpin.Close()
			rl, err := startRelay(tc.faults)
			if err != nil {
				t.Fatal(err)
			}
			rl.target = pushpin.URL
			for range 3 {
				resp, err := http.Post(rl.URL()+"/publish/", "application/json", strings.NewReader(`{"items":[{"channel":"room-a","id":"1"}]}`))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "Published\n" {
					t.Errorf("relay answered %d %q", resp.StatusCode, b)
				}
			}
			rl.close()
			if got != tc.want {
				t.Errorf("Pushpin got %d publishes, want %d", got, tc.want)
			}
		})
	}
}
