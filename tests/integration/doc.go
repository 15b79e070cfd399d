// Package integration holds the full-stack tests of the chat backend: real
// Pushpin, real DynamoDB Local and the real send, history and stream
// handlers behind the API Gateway emulator, started once per test binary by
// TestMain through internal/stack.
//
// The package has no code of its own, only tests. They prove, through the
// GRIP proxy a browser talks to, that a message reaches every listener live,
// history pages, deletes and admin clears propagate, a reconnecting listener
// resumes from Last-Event-ID (or gets stream-reset when its point is gone),
// a repeated clientId stores and publishes once, a publish lost on purpose
// is recovered through Pushpin's next link, concurrent senders neither lose
// nor duplicate an id, and refused requests (forged or expired Grip-Sig,
// oversize or malformed bodies, missing keys) store and publish nothing.
//
// Every test uses rooms of its own (ROOMS lists many "it-<run>-<n>" rooms),
// because Pushpin remembers a channel's last id for 60 s and ids are per
// room. Run:
//
//	go test ./tests/integration/             # ~10 s, most of it Pushpin holding an out-of-order publish
//	go test -count=3 ./tests/integration/    # flakiness check
//	go test -short ./tests/integration/      # skips everything
//
// A missing tool (Pushpin, Java, DynamoDB Local) fails the run; only -short
// skips it. Install the tools with `make deps`.
package integration
