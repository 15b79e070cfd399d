// Package emf turns a JSON log line into a CloudWatch Embedded Metric Format
// (EMF) record, so a count reaches CloudWatch Metrics from the log line alone:
// no PutMetricData call, no extra latency, no extra IAM action. CloudWatch
// Logs extracts the metric from any JSON log event with an "_aws" member;
// the alarms and the dashboard in template.yaml read these metrics.
package emf

import (
	"log/slog"
	"time"
)

// Namespace is the CloudWatch namespace of the chat's own metrics.
const Namespace = "ServerlessChat"

// DimensionFunction is the metric dimension: the Lambda function's name. The
// functions' mains put it on every log line (lambdacontext.FunctionName), so
// two stacks in one account keep their metrics apart.
const DimensionFunction = "FunctionName"

// Names of the metrics the chat emits.
const (
	// Publishes counts events published to the GRIP proxy.
	Publishes = "Publishes"
	// PublishFailures counts publishes that failed; the event is stored and
	// the proxy recovers it through the next link, late.
	PublishFailures = "PublishFailures"
	// IDRaceConflicts counts sends answered 503 because they lost the race
	// for the room's next event id for longer than the retry budget.
	IDRaceConflicts = "IdRaceConflicts"
	// StreamHolds counts stream requests answered with a new GRIP hold.
	StreamHolds = "StreamHolds"
	// NextLinkCalls counts the proxy's calls of a held stream's next link
	// (requests with Grip-Last).
	NextLinkCalls = "NextLinkCalls"
)

// directive is the "_aws" member of an EMF record.
type directive struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []metricsBlock `json:"CloudWatchMetrics"`
}

type metricsBlock struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Count returns the slog arguments that make the log line they are added to
// count metric once, at time now, in Namespace with the DimensionFunction
// dimension. The logger must be a JSON handler without groups, so "_aws" and
// the metric land at the top level of the line, as EMF requires.
func Count(now time.Time, metric string) []any {
	return []any{
		slog.Any("_aws", directive{
			Timestamp: now.UnixMilli(),
			CloudWatchMetrics: []metricsBlock{{
				Namespace:  Namespace,
				Dimensions: [][]string{{DimensionFunction}},
				Metrics:    []definition{{Name: metric, Unit: "Count"}},
			}},
		}),
		slog.Int(metric, 1),
	}
}
