package stack

import (
	"maps"
	"net"
	"net/http"
	"sync"
)

// connCounter counts the open connections of each server of the stack.
type connCounter struct {
	mu   sync.Mutex
	open map[string]int
}

func newConnCounter() *connCounter { return &connCounter{open: map[string]int{}} }

// track returns an http.Server ConnState hook counting name's connections.
func (c *connCounter) track(name string) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, st http.ConnState) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch st {
		case http.StateNew:
			c.open[name]++
		case http.StateClosed, http.StateHijacked:
			c.open[name]--
		}
	}
}

// snapshot returns the open connections by server name.
func (c *connCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.open)
}

// OpenConnections returns how many connections are open to each server of
// the stack ("edge stand-in", "API emulator"): what a load leaves behind.
func (s *Stack) OpenConnections() map[string]int { return s.conns.snapshot() }
