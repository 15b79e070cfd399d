package proc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The benchmarks measure how long each component takes to start until ready, and to stop. Run them
// with a small count, e.g. go test -run '^$' -bench . -benchtime 5x ./tools/proc/.

func BenchmarkStartStopPushpin(b *testing.B) {
	requireTools(b)
	origin := httptest.NewServer(http.NotFoundHandler())
	b.Cleanup(origin.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var start time.Duration
	for b.Loop() {
		t0 := time.Now()
		pp, err := StartPushpin(ctx, PushpinConfig{Origin: strings.TrimPrefix(origin.URL, "http://"), SigKey: "k"})
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		if err := pp.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
}

func BenchmarkStartStopDynamoDB(b *testing.B) {
	requireTools(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var start time.Duration
	for b.Loop() {
		t0 := time.Now()
		d, err := StartDynamoDB(ctx, DynamoConfig{})
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		if err := d.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
}

func BenchmarkStartInvokeStopRIE(b *testing.B) {
	requireTools(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bootstrap, err := BuildBootstrap(ctx, "./tools/proc/testdata/echo", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var start time.Duration
	for b.Loop() {
		t0 := time.Now()
		r, err := StartRIE(ctx, RIEConfig{Bootstrap: bootstrap})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Invoke(ctx, []byte(`{"message":"x"}`)); err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		if err := r.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start+invoke-ms/op")
}
