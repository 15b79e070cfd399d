// Package limittest has an in-memory rate limiter with the same rules and
// decisions as limit.Limiter, for fast unit tests of its consumers.
// Integration tests use the real one on DynamoDB Local.
package limittest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// Limiter is an in-memory limiter. Set Err to make every call fail.
type Limiter struct {
	mu    sync.Mutex
	rules limit.Rules
	tats  map[[2]string]int64
	calls int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Err, when set, is returned by every call.
	Err error
}

// New returns a Limiter applying rules (limit.DefaultRules when nil).
func New(rules limit.Rules) *Limiter {
	if rules == nil {
		rules = limit.DefaultRules()
	}
	return &Limiter{rules: rules, tats: map[[2]string]int64{}, Now: time.Now}
}

// Allow takes one token of user's bucket for action, as limit.Limiter does.
func (l *Limiter) Allow(_ context.Context, action, user string) (limit.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.Err != nil {
		return limit.Decision{}, l.Err
	}
	rule, ok := l.rules[action]
	if !ok {
		return limit.Decision{}, fmt.Errorf("limittest: allow %q: %w", action, limit.ErrUnknownAction)
	}
	k := [2]string{action, user}
	d, tat := rule.Decide(l.tats[k], l.Now().UnixMilli())
	l.tats[k] = tat
	return d, nil
}

// Calls returns how many times Allow was called.
func (l *Limiter) Calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}
