// Package e2e holds the browser tests of the chat: a real headless Chromium
// (driven with chromedp) uses the real page through the same local stack as
// `make dev` (tools/stack: Pushpin, the edge stand-in, the API Gateway
// emulator driven by template.yaml, the web, history, send and stream
// functions in-process, and DynamoDB Local in memory, all on free ports)
// and the tests check what users see. They also write screenshots of the
// room page to test-output/.
//
// The tests need Chromium, Pushpin and DynamoDB Local (scripts/deps.sh);
// when one is missing they fail, never skip.
package e2e
