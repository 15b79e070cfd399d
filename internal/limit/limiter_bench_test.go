package limit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// BenchmarkAllow measures one limiter decision against DynamoDB Local: a
// full bucket (one UpdateItem), a request inside a burst (two) and a
// refused one (one), with the calls of each.
func BenchmarkAllow(b *testing.B) {
	if local.client == nil {
		b.Skip("needs DynamoDB Local (Java); not started with -short")
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		rule    limit.Rule
		allowed bool
		sameKey bool
	}{
		{"full-bucket", limit.Rule{Rate: 1, Per: time.Minute, Burst: 1}, true, false},
		{"inside-a-burst", limit.Rule{Rate: 1, Per: time.Hour, Burst: 10000}, true, true},
		{"refused", limit.Rule{Rate: 1, Per: time.Hour, Burst: 1}, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			api := &countingAPI{next: local.client, calls: map[string]int{}}
			lim, err := limit.New(api, testTable, limit.Rules{"x": bc.rule})
			if err != nil {
				b.Fatal(err)
			}
			user := "bench-" + bc.name + "-" + strconv.FormatInt(local.seq.Add(1), 10)
			if bc.sameKey {
				if _, err := lim.Allow(ctx, "x", user); err != nil {
					b.Fatal(err)
				}
				api.take()
			}
			i := 0
			for b.Loop() {
				i++
				u := user
				if !bc.sameKey {
					u = user + "-" + strconv.Itoa(i)
				}
				d, err := lim.Allow(ctx, "x", u)
				if err != nil || d.Allowed != bc.allowed {
					b.Fatalf("Allow = %+v, %v; want allowed %v", d, err, bc.allowed)
				}
			}
			calls := api.take()
			b.ReportMetric(float64(calls["UpdateItem"])/float64(b.N), "UpdateItem/op")
			b.ReportMetric(float64(calls["GetItem"])/float64(b.N), "GetItem/op")
		})
	}
}
