package dynamo

import "time"

// WithPause replaces the pause between attempts at the next event id, so
// that tests choose between an immediate retry and one after a pause.
func WithPause(pause func(lost int, waited time.Duration) time.Duration) Option {
	return func(s *Store) { s.pause = pause }
}

// Backoff is Store.backoff of a store with the given retry budget.
func Backoff(budget time.Duration, lost int, waited time.Duration) time.Duration {
	s := &Store{retryBudget: budget}
	return s.backoff(lost, waited)
}
