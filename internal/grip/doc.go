// Package grip speaks GRIP, the protocol between the stream function and the
// proxy that holds browser connections open (Pushpin locally, Fastly Fanout
// in production): it verifies the Grip-Sig the proxy signs requests with
// (Verifier), builds the stream hold (Hold), reads the Grip-Last of a
// next-link request (ParseLast), parses GRIP_URL (ParseGripURL) and
// publishes frames to the proxy (Publisher, a chat.Publisher).
//
// # Reliable streaming, as Pushpin 1.36 does it
//
// The following was read in Pushpin's handler (httpsession.cpp, instruct.cpp,
// httpsessionupdatemanager.cpp) and checked against the real binary
// (pushpin_test.go and throwaway experiments).
//
// A hold carries "Grip-Channel: room-x; prev-id=N" and
// "Grip-Link: </room/x/events?lastEventId=N>; rel=next; timeout=T". Pushpin
// remembers N per connection and delivers a publish only if its prev-id
// equals N, then sets N to the publish's id. A fresh room is held with
// prev-id=0 and its first event published as id 1, prev-id 0. A prev-id
// without a Grip-Link is an error that closes the stream.
//
// Pushpin GETs the next link, through its own routing (so it carries
// Grip-Sig) but without the client's headers, with
// "Grip-Last: room-x; last-id=N" (one header per reliable channel):
//
//   - about 1 s after the handler subscribes to a channel it had no
//     subscription for (engine.cpp, SUBSCRIBED_DELAY): every connection
//     on the channel then fetches, so events stored between the origin's
//     read and the subscription are not lost. A connection joining a
//     channel already subscribed does not trigger it;
//   - when a publish's prev-id does not match N (a publish was lost or came
//     out of order). Pushpin's sequencer first holds such a publish back
//     up to message_wait (5 s by default; 2 s in the local stack) waiting
//     for the missing one (which is how it reorders two senders'
//     publishes for free); only then does the connection see the
//     mismatch, drop its queued publishes and fetch the link;
//   - after T seconds (default 120) without a delivery on the connection.
//     Timers are shared by connections with the same T and link path, and
//     a connection with a delivery is deferred to the timer's next round,
//     so the fetch comes T to 2T after the last delivery;
//   - at once on a new hold whose prev-id differs from the last id Pushpin
//     saw published on the channel (remembered for 60 s).
//
// The answer to a next-link request replaces the connection's whole GRIP
// state, so it must repeat the complete hold: Grip-Hold: stream, the
// Grip-Channel with prev-id set to the last id in its body (or the Grip-Last
// id when the body is empty), a Grip-Link, and Grip-Keep-Alive. Measured and
// read in the source:
//
//   - no Grip-Hold: the body is appended and the client's stream ends;
//   - a hold without Grip-Link (prev-id kept): error, the stream ends;
//   - a channel left out: the connection unsubscribes from it;
//   - no Grip-Keep-Alive: keep-alives stop;
//   - a malformed GRIP header: error, the stream ends;
//   - a non-2xx status: retried 5 times (1 s doubling, plus up to 1 s
//     jitter), then the stream ends;
//   - an empty body with the full hold: fine, nothing is written.
//
// Its body is appended to the client's stream as is; its other headers are
// ignored. It must be idempotent (the events after last-id, nothing more):
// publishes arriving while it is fetched are queued, and those not following
// its prev-id are dropped, so an event sent in the answer is never delivered
// twice. Pushpin shares concurrent fetches of the same link URL, which keeps
// the link identical for connections at the same point worthwhile.
//
// Fanout documents the same GRIP reliability features; the timings above are
// Pushpin's.
package grip
