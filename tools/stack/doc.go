// Package stack runs the whole chat on one machine without Docker: DynamoDB
// Local, every function of template.yaml behind the API Gateway HTTP API
// emulator (in-process, or each real bootstrap under the Lambda RIE), the
// stand-in for the sign-in edge, and Pushpin in front. `make dev`
// (tools/cmd/devstack), the browser tests (tests/e2e) and the integration tests
// all start it with Start, so they exercise the same assembly.
//
// Requests flow browser → Pushpin → edge stand-in → API emulator → function,
// as in production browser → edge → Fanout → API Gateway → Lambda, except
// that locally Pushpin sits in front of the edge: Pushpin must own the
// chat's port, and the edge only adds headers, so the order of the two does
// not change what the functions see, and Pushpin's Grip-Sig passes the edge
// untouched.
//
// Content coding differs from production in one way. Pushpin 1.36 never
// hands the client's Accept-Encoding to the origin: zurl, which makes its
// requests, sends its own "deflate, gzip, br, zstd" and decompresses the
// answer, keeping the origin's ETag. So the edge stand-in asks the API for
// identity on requests that come through Pushpin, and the browser gets
// uncompressed bodies with their own ETags. Fastly, in production, passes
// Accept-Encoding on and the gzip body back. Requests made to the edge
// stand-in directly (EdgeURL) keep their Accept-Encoding.
//
// A state directory (Config.StateDir, .dev for `make dev`) serves one stack
// at a time: Start locks it (flock on LockFile, released by the kernel when
// the process ends) and a second stack on it fails at once, naming the
// first's pid.
//
// Every server binds 127.0.0.1; every process is stopped by its pid.
package stack
