// Package limit is the per-user rate limiter of the chat's writes: a token
// bucket per user and action, kept in DynamoDB so that it holds however many
// Lambda instances serve the user.
//
// # Using it
//
// Build one Limiter per cold start on the function's DynamoDB client and
// the chat table, declare the small interface you call in your own package,
// and ask before every write:
//
//	lim, err := limit.New(client, tableName, cfg.RateLimits)
//	...
//	// in the consumer's package:
//	type Limiter interface {
//		Allow(ctx context.Context, action, user string) (limit.Decision, error)
//	}
//	...
//	d, err := lim.Allow(ctx, limit.ActionTyping, user)
//	switch {
//	case err != nil:
//		// DynamoDB failed: log it and let the write through (fail open).
//	case !d.Allowed:
//		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
//		// answer 429
//	}
//
// The actions and their default rules are ActionSend, ActionEdit,
// ActionReact and ActionTyping (DefaultRules); RATE_LIMITS overrides them
// (ParseRules). limittest.Limiter is an in-memory Limiter with an injected
// clock, for unit tests of consumers.
//
// # Algorithm
//
// Each bucket is one number, its theoretical arrival time (TAT) in Unix
// milliseconds: the generic cell rate algorithm, which is a token bucket
// written as a time. A rule of Rate requests per Per with Burst lets a
// request through at now when max(TAT, now) − now ≤ (Burst−1)·Per/Rate
// (plus a slack of min(Per/Rate/2, 250 ms) for clock skew), and
// moves TAT to max(TAT, now) + Per/Rate. A TAT in the past is a full bucket,
// exactly like no item at all, so items carry expiresAt just after their TAT
// and DynamoDB's TTL removes idle buckets.
//
// DynamoDB has no max() in update expressions, so the two cases are two
// conditional UpdateItems, each atomic on its own:
//
//  1. SET tat = now + T IF attribute_not_exists(tat) OR tat <= now — the
//     bucket is full (the usual case for a person chatting);
//  2. SET tat = tat + T IF tat > now AND tat <= now + (Burst−1)·T — a burst
//     within the allowance.
//
// A failed condition returns the item as it is (ALL_OLD), from which the
// limiter either answers "wait" (TAT beyond the allowance: Retry-After is
// TAT − allowance − now) or tries the other case. Calls: one UpdateItem for
// an allowed request on a full bucket and for a refused one, two for an
// allowed request inside a burst; concurrent requests of one user retry at
// most a few times and never both take the same token.
//
// # Item
//
//	pk = LIMIT#<user>, sk = <action>, tat (N, Unix ms), expiresAt (N, Unix s)
//
// in the chat table, beside the rooms' items (pk ROOM#…), which it never
// touches. The functions that limit need dynamodb:UpdateItem (and GetItem
// for DynamoDB servers that do not return the old item on a failed
// condition).
package limit
