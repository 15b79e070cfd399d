package limit_test

import (
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/limit"
)

func TestRuleDecide(t *testing.T) {
	t.Parallel()
	// 6 per minute: one every 10 s, 3 at once.
	r := limit.Rule{Rate: 6, Per: time.Minute, Burst: 3}
	const now = 1_000_000
	cases := []struct {
		name      string
		tat       int64
		allowed   bool
		next      int64
		retryWait time.Duration
	}{
		{"no bucket", 0, true, now + 10_000, 0},
		{"full bucket, tat long past", now - 3_600_000, true, now + 10_000, 0},
		{"tat exactly now", now, true, now + 10_000, 0},
		{"one taken", now + 10_000, true, now + 20_000, 0},
		{"two taken, last token", now + 20_000, true, now + 30_000, 0},
		// A slack of 250 ms (less than half the 10 s interval) absorbs
		// clock skew.
		{"empty", now + 30_000, false, now + 30_000, 9750 * time.Millisecond},
		{"empty, part refilled", now + 21_500, false, now + 21_500, 1250 * time.Millisecond},
		{"empty, within the slack", now + 20_250, true, now + 30_250, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, next := r.Decide(c.tat, now)
			if d.Allowed != c.allowed || next != c.next || d.RetryAfter != c.retryWait {
				t.Errorf("Decide(%d) = %+v, %d; want allowed %v, next %d, wait %s", c.tat, d, next, c.allowed, c.next, c.retryWait)
			}
		})
	}
}

// TestRuleBurstThenRate walks a bucket through time: Burst requests pass
// at once, then one per interval.
func TestRuleBurstThenRate(t *testing.T) {
	t.Parallel()
	r := limit.Rule{Rate: 2, Per: time.Second, Burst: 4} // one per 500 ms
	var tat int64
	now := int64(5_000)
	passed := 0
	for range 10 {
		d, next := r.Decide(tat, now)
		if d.Allowed {
			passed++
			tat = next
		}
	}
	if passed != 4 {
		t.Fatalf("burst: %d passed at once, want 4", passed)
	}
	// The next token comes 500 ms later, less the 250 ms slack.
	now += 249
	if d, _ := r.Decide(tat, now); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("249 ms after the burst: %+v, want refused for 1 ms more", d)
	}
	now++
	d, next := r.Decide(tat, now)
	if !d.Allowed {
		t.Fatalf("refused 250 ms after the burst: %+v", d)
	}
	tat = next
	if d, _ := r.Decide(tat, now); d.Allowed || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("right after: %+v, want a 500 ms wait", d)
	}
	// Never more than Burst at once, whatever the slack: 1 per 10 ms with
	// a slack of 5 ms.
	fast := limit.Rule{Rate: 100, Per: time.Second, Burst: 3}
	tat, passed = 0, 0
	for range 10 {
		if d, next := fast.Decide(tat, 5_000); d.Allowed {
			passed++
			tat = next
		}
	}
	if passed != 3 {
		t.Fatalf("fast rule: %d passed at once, want 3", passed)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for wait, want := range map[time.Duration]int{
		0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 59 * time.Second: 59,
	} {
		if got := (limit.Decision{RetryAfter: wait}).RetryAfterSeconds(); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", wait, got, want)
		}
	}
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	def := limit.DefaultRules()
	if err := def.Validate(); err != nil {
		t.Fatalf("default rules: %v", err)
	}
	for _, a := range []string{limit.ActionSend, limit.ActionEdit, limit.ActionReact, limit.ActionTyping} {
		if _, ok := def[a]; !ok {
			t.Errorf("no default rule for %s", a)
		}
	}
	got, err := limit.ParseRules(" send=5/10s , react=100/1m/7,custom=1/1h")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]limit.Rule{
		limit.ActionSend:  {Rate: 5, Per: 10 * time.Second, Burst: 5},
		limit.ActionReact: {Rate: 100, Per: time.Minute, Burst: 7},
		"custom":          {Rate: 1, Per: time.Hour, Burst: 1},
		limit.ActionEdit:  def[limit.ActionEdit],
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s = %+v, want %+v", a, got[a], w)
		}
	}
	if again, err := limit.ParseRules(got.String()); err != nil || again.String() != got.String() {
		t.Errorf("ParseRules(String()) = %v, %v; want %v", again, err, got)
	}
	if empty, err := limit.ParseRules(""); err != nil || empty.String() != def.String() {
		t.Errorf(`ParseRules("") = %v, %v; want the defaults`, empty, err)
	}
	for _, bad := range []string{
		"send", "send=", "=5/1m", "send=5", "send=x/1m", "send=5/x", "send=5/1m/x", "send=0/1m",
		"send=5/-1m", "send=5/1m/0", "send=5/1m/5/5", "send=5000/1s", "send=1/48h",
	} {
		if _, err := limit.ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) accepted", bad)
		}
	}
}
