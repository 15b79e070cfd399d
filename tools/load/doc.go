// Package load holds the load-generating and measuring parts shared by the
// end-to-end benchmark (tools/cmd/bench) and the soak and fault harness
// (tools/cmd/soak): SSE listeners that track which event ids reached them,
// nearest-rank percentiles, and the count of function invocations read from
// the local stack's log.
package load
