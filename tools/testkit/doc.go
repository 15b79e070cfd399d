// Package testkit is the one set of test helpers shared by the product's
// tests and the tools' tests: a buffer several goroutines write to
// (LockedBuffer), the check that the real components a test starts are
// installed (Require, with Pushpin, DynamoDBLocal, RIE and Chromium), the
// captured API Gateway v2 events of testdata/apigw (Event, EventJSON), a
// client for DynamoDB Local (DynamoClient), a Server-Sent Events reader
// that parses what internal/sse encodes (SSEReader), and how long to wait
// for something on a loaded machine (Patience).
//
// It is imported by tests only: no Lambda binary links it.
package testkit
