package limit

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The actions the chat limits. An action is any short name; these are the
// ones the chat's functions ask about.
const (
	// ActionSend is posting a message.
	ActionSend = "send"
	// ActionEdit is editing one's own message.
	ActionEdit = "edit"
	// ActionReact is toggling a reaction.
	ActionReact = "react"
	// ActionTyping is a typing signal.
	ActionTyping = "typing"
)

// ErrUnknownAction is returned by Allow for an action without a rule.
var ErrUnknownAction = errors.New("limit: no rule for action")

// Rule is one action's limit: Rate requests per Per on average, up to Burst
// at once (the bucket's size).
type Rule struct {
	// Rate is how many requests Per allows on average; > 0.
	Rate int
	// Per is the period of Rate; > 0.
	Per time.Duration
	// Burst is how many requests may come back to back after a quiet
	// while; >= 1.
	Burst int
}

// Interval is the time that earns one request back: Per / Rate.
func (r Rule) Interval() time.Duration { return r.Per / time.Duration(r.Rate) }

// Validate reports a rule that cannot be applied.
func (r Rule) Validate() error {
	switch {
	case r.Rate <= 0:
		return fmt.Errorf("limit: rate %d is not positive", r.Rate)
	case r.Per <= 0:
		return fmt.Errorf("limit: period %s is not positive", r.Per)
	case r.Burst < 1:
		return fmt.Errorf("limit: burst %d is less than 1", r.Burst)
	case r.Interval() < time.Millisecond:
		return fmt.Errorf("limit: %d per %s is more than one per millisecond", r.Rate, r.Per)
	case r.Per > 24*time.Hour || r.Burst > 10000:
		return fmt.Errorf("limit: %d per %s, burst %d, is beyond what a limit is for", r.Rate, r.Per, r.Burst)
	}
	return nil
}

// String writes the rule as ParseRules reads it: "20/1m0s" or "20/1m0s/5".
func (r Rule) String() string {
	if r.Burst == r.Rate {
		return fmt.Sprintf("%d/%s", r.Rate, r.Per)
	}
	return fmt.Sprintf("%d/%s/%d", r.Rate, r.Per, r.Burst)
}

// allowance is how far ahead of now a bucket's TAT may be for one more
// request to pass: (Burst−1)·Interval, in milliseconds.
func (r Rule) allowance() int64 {
	return int64(r.Burst-1) * r.Interval().Milliseconds()
}

// maxSlack bounds slack: how far past its allowance a request may come
// and still pass.
const maxSlack = 250 * time.Millisecond

// slack is the skew a request may have, in milliseconds: min(Interval/2,
// 250 ms). Requests of one burst that reach DynamoDB in another order than
// they read their clocks (or that run on Lambda instances whose clocks
// differ by a few milliseconds) would otherwise see the last token of the
// burst a few milliseconds short. Less than an interval, it never lets more
// than Burst through at once.
func (r Rule) slack() int64 {
	return min(r.Interval()/2, maxSlack).Milliseconds()
}

// Decide applies the rule to a bucket whose theoretical arrival time is tat
// (Unix ms; 0 or any time not after now means a full bucket) for a request
// at now (Unix ms). It returns the decision and, when allowed, the bucket's
// new TAT. Both implementations of the limiter decide with it.
func (r Rule) Decide(tat, now int64) (Decision, int64) {
	t := r.Interval().Milliseconds()
	base := max(tat, now)
	if early := base - now - r.allowance() - r.slack(); early > 0 {
		return Decision{RetryAfter: time.Duration(early) * time.Millisecond}, tat
	}
	return Decision{Allowed: true}, base + t
}

// Decision is the answer to one request.
type Decision struct {
	// Allowed is true when the request may go ahead (its token is taken).
	Allowed bool
	// RetryAfter is, for a refused request, how long until one more request
	// would pass.
	RetryAfter time.Duration
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1:
// the value of a Retry-After header.
func (d Decision) RetryAfterSeconds() int {
	s := int(math.Ceil(d.RetryAfter.Seconds()))
	return max(s, 1)
}

// Rules are the rules by action.
type Rules map[string]Rule

// DefaultRules are the chat's limits when RATE_LIMITS says nothing else:
// generous for a person, tight for a script.
//
//	send    20 per minute, 10 at once
//	edit    20 per minute, 5 at once
//	react   60 per minute, 20 at once
//	typing  30 per minute, 5 at once (the page sends one every 3 s at most)
func DefaultRules() Rules {
	return Rules{
		ActionSend:   {Rate: 20, Per: time.Minute, Burst: 10},
		ActionEdit:   {Rate: 20, Per: time.Minute, Burst: 5},
		ActionReact:  {Rate: 60, Per: time.Minute, Burst: 20},
		ActionTyping: {Rate: 30, Per: time.Minute, Burst: 5},
	}
}

// Validate checks every rule.
func (rs Rules) Validate() error {
	var errs []error
	for _, a := range slices.Sorted(maps.Keys(rs)) {
		if err := rs[a].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("action %s: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

// String writes the rules as ParseRules reads them, sorted by action.
func (rs Rules) String() string {
	var b strings.Builder
	for i, a := range slices.Sorted(maps.Keys(rs)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a + "=" + rs[a].String())
	}
	return b.String()
}

// ParseRules reads RATE_LIMITS, a comma-separated list of
// action=rate/period[/burst] ("send=20/1m/10,react=60/1m"), on top of
// DefaultRules: actions not named keep their default. The period is a Go
// duration ("30s", "1m"); the burst defaults to the rate. An empty string
// is DefaultRules.
func ParseRules(s string) (Rules, error) {
	rules := DefaultRules()
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		action, spec, ok := strings.Cut(part, "=")
		action = strings.TrimSpace(action)
		if !ok || action == "" {
			return nil, fmt.Errorf("limit: %q is not action=rate/period[/burst]", part)
		}
		fields := strings.Split(strings.TrimSpace(spec), "/")
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("limit: %q is not action=rate/period[/burst]", part)
		}
		rate, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("limit: %s: rate %q is not a whole number", action, fields[0])
		}
		per, err := time.ParseDuration(fields[1])
		if err != nil {
			return nil, fmt.Errorf("limit: %s: period %q is not a duration such as 1m", action, fields[1])
		}
		r := Rule{Rate: rate, Per: per, Burst: rate}
		if len(fields) == 3 {
			if r.Burst, err = strconv.Atoi(fields[2]); err != nil {
				return nil, fmt.Errorf("limit: %s: burst %q is not a whole number", action, fields[2])
			}
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("limit: %s: %w", action, err)
		}
		rules[action] = r
	}
	return rules, nil
}
