// Package e2e holds the browser tests of the chat: a real headless Chromium
// (driven with chromedp) uses the real page through the local stack —
// the edge stand-in, Pushpin, the web, history, send and stream handlers
// and DynamoDB Local — and the tests check what users see. They also write
// screenshots of the room page to test-output/.
//
// The tests need Chromium, Pushpin and DynamoDB Local (scripts/deps.sh);
// when one is missing they fail, never skip.
package e2e
