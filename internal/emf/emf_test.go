package emf_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/emf"
)

// TestCount checks the line a JSON logger writes with Count is an EMF
// record CloudWatch extracts: "_aws" at the top level with a millisecond
// timestamp, the namespace, the dimension set and the metric, and the
// metric's value and the dimension's value as top-level members.
func TestCount(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With(emf.DimensionFunction, "stack-SendFunction-abc")
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	log.Warn("publish failed", emf.Count(at, emf.PublishFailures)...)

	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function string  `json:"FunctionName"`
		Value    float64 `json:"PublishFailures"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if line.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("Timestamp = %d, want %d", line.AWS.Timestamp, at.UnixMilli())
	}
	if len(line.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("CloudWatchMetrics = %+v, want one block", line.AWS.CloudWatchMetrics)
	}
	b := line.AWS.CloudWatchMetrics[0]
	if b.Namespace != emf.Namespace || len(b.Dimensions) != 1 || len(b.Dimensions[0]) != 1 || b.Dimensions[0][0] != emf.DimensionFunction {
		t.Errorf("block = %+v", b)
	}
	if len(b.Metrics) != 1 || b.Metrics[0].Name != emf.PublishFailures || b.Metrics[0].Unit != "Count" {
		t.Errorf("metrics = %+v", b.Metrics)
	}
	if line.Value != 1 || line.Function != "stack-SendFunction-abc" {
		t.Errorf("value %v, dimension %q", line.Value, line.Function)
	}
}
