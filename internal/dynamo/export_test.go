package dynamo

import "time"

// WithPause replaces the pause between attempts at the next event id, so
// that tests choose between an immediate retry and one after a pause.
func WithPause(pause func(lost int, waited time.Duration) time.Duration) Option {
	return func(s *Store) { s.pause = pause }
}

// WithRetryBudget sets how long a write keeps trying to win the race for the
// next event id before it fails with chat.ErrConflict (default
// DefaultRetryBudget).
func WithRetryBudget(d time.Duration) Option { return func(s *Store) { s.retryBudget = d } }

// WithMaxAttempts also bounds how many transactions a write tries for the
// next event id, within the retry budget; 0 leaves only the budget.
func WithMaxAttempts(n int) Option { return func(s *Store) { s.maxAttempts = n } }

// Backoff is Store.backoff of a store with the given retry budget.
func Backoff(budget time.Duration, lost int, waited time.Duration) time.Duration {
	s := &Store{retryBudget: budget}
	return s.backoff(lost, waited)
}
