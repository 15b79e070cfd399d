package e2e

import (
	"fmt"
	"sync"
	"testing"
)

// names counts, per test and base name, how often a test asked for a fresh
// name in this process.
type names struct {
	mu   sync.Mutex
	used map[string]int
}

// next returns how many times key was asked for, this time included.
func (n *names) next(key string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.used == nil {
		n.used = map[string]int{}
	}
	n.used[key]++
	return n.used[key]
}

// freshName returns base the first time test t asks for it in this process
// and base-2, base-3, … in the runs after (go test -count=N runs every test
// N times against the one stack TestMain started). A test that needs an
// empty room, or a user whose rate limits it has not used up, gets one in
// every run, while the first run, the one CI makes, keeps the plain names
// its screenshots show.
func freshName(t *testing.T, base string) string {
	t.Helper()
	n := suite.names.next(t.Name() + "\x00" + base)
	if n == 1 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, n)
}

// freshRoom is freshName for a room of testRooms: the stack is configured
// with a copy of each for every run of -count.
func freshRoom(t *testing.T, base string) string {
	t.Helper()
	room := freshName(t, base)
	if !suite.stack.rooms[room] {
		t.Fatalf("room %s is not configured: the stack has the rooms of testRooms for %d runs (go test -count)", room, suite.runs)
	}
	return room
}
