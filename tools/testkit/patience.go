package testkit

import (
	"testing"
	"time"
)

// margin is what Patience leaves before the test binary's deadline, so a
// test that waited in vain still fails with its own message.
const margin = 30 * time.Second

// Patience returns how long t may wait for something that normally takes
// up to usual: until shortly before the test binary's deadline (go test
// -timeout), and never less than usual. On a loaded machine how long a step
// takes says nothing about whether it works, so a wait is bounded by the
// run, not by a guess; usual names the normal case in failure messages.
func Patience(t testing.TB, usual time.Duration) time.Duration {
	t.Helper()
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return max(usual, 10*time.Minute)
	}
	deadline, ok := dt.Deadline()
	if !ok {
		return max(usual, 10*time.Minute)
	}
	return max(usual, time.Until(deadline)-margin)
}
