package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/tools/load"
)

// Fan-out modes: a message sent through the origin (Pushpin → edge → API
// emulator → send function → DynamoDB Local, publish to Pushpin), and the
// baseline, a frame published straight to Pushpin's publish port.
const (
	modeOrigin = "origin send"
	modeRaw    = "raw publish"
)

// fanoutResult is one mode at one listener count.
type fanoutResult struct {
	Mode      string
	Listeners int
	// Connect is the time to open every listener (response headers in hand).
	Connect time.Duration
	// Send is the request round trip of each measured message: for the
	// origin the client's POST through Pushpin (all the origin's work, the
	// publish included), for the baseline the publish POST.
	Send load.Summary
	// Delivery is from the start of the request to the moment the last
	// listener had the whole frame.
	Delivery load.Summary
	// Complete is how many of Messages reached every listener in time.
	Complete, Messages int
	// Dups, Unknown and ReadErrs count frames received twice, frames with an
	// unexpected id and streams that broke.
	Dups, Unknown, ReadErrs int64
	// SendCalls and StreamCalls are the send and stream function invocations
	// during the measured messages: the origin's work, which must not grow
	// with listeners.
	SendCalls, StreamCalls int
}

// fanoutRoom is the room of one mode and listener count: fresh for each, as
// Pushpin remembers a channel's last id for a while.
func fanoutRoom(mode string, n int) string {
	if mode == modeRaw {
		return "bench-raw-" + strconv.Itoa(n)
	}
	return "bench-origin-" + strconv.Itoa(n)
}

// runFanout opens n listeners on a fresh room, lets the origin settle,
// sends warm-up then measured messages one at a time, waiting for each to
// reach every listener, and closes the listeners.
func (b *bench) runFanout(ctx context.Context, mode string, n int) (fanoutResult, error) {
	room := fanoutRoom(mode, n)
	res := fanoutResult{Mode: mode, Listeners: n, Messages: b.cfg.Messages}
	total := int64(b.cfg.Warmup + b.cfg.Messages)
	tr := load.NewTracker(n, total)

	start := time.Now()
	ls, err := load.OpenListeners(ctx, b.listenClient, b.stack.URL()+"/room/"+room+"/events", n, b.cfg.ConnectParallel, tr)
	if err != nil {
		return res, fmt.Errorf("open %d listeners on %s: %w", n, room, err)
	}
	defer ls.Close()
	res.Connect = time.Since(start)
	// Pushpin calls each hold's next link about a second after it
	// subscribes; wait until those calls are over so they do not land in
	// the measured window.
	b.calls.Settle(ctx, load.RouteStream, 1500*time.Millisecond, 60*time.Second)

	var sends, deliveries []time.Duration
	var before map[string]int
	for i := int64(1); i <= total; i++ {
		measured := i > int64(b.cfg.Warmup)
		if i == int64(b.cfg.Warmup)+1 {
			before = b.calls.Snapshot()
		}
		t0 := time.Now()
		var id int64
		if mode == modeRaw {
			id = i
			err = b.publishRaw(ctx, room, id)
		} else {
			id, err = b.sendOrigin(ctx, room, i)
		}
		rtt := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("%s %d to %s: %w", mode, i, room, err)
		}
		last, got := tr.WaitFor(ctx, id, b.cfg.DeliveryTimeout)
		if !measured {
			if got != n {
				return res, fmt.Errorf("warm-up %s %d on %s reached %d of %d listeners in %s", mode, id, room, got, n, b.cfg.DeliveryTimeout)
			}
			continue
		}
		sends = append(sends, rtt)
		if got == n {
			res.Complete++
			deliveries = append(deliveries, last.Sub(t0))
		}
	}
	after := b.calls.Snapshot()
	res.SendCalls = after[load.RouteSend] - before[load.RouteSend]
	res.StreamCalls = after[load.RouteStream] - before[load.RouteStream]
	res.Send, res.Delivery = load.Summarize(sends), load.Summarize(deliveries)
	res.Dups, res.Unknown, res.ReadErrs = tr.Dups.Load(), tr.Unknown.Load(), ls.ReadErrs.Load()
	return res, nil
}

// sendOrigin posts message i to room through Pushpin as a signed-in user
// would through the edge, and returns the event id it got.
func (b *bench) sendOrigin(ctx context.Context, room string, i int64) (int64, error) {
	return b.sendTo(ctx, b.stack.URL(), room, i)
}

// publishRaw publishes event id straight to Pushpin's publish port on the
// room's channel: a frame the size of a real message with the id and
// prev-id the origin would give it (Pushpin checks them against each hold's
// last id as for a real send, and would follow the next link on a
// mismatch), but no Lambda and no DynamoDB. The frame and the publish are
// the product's own (chat.AppendFrame, grip.Publisher), so the baseline
// differs from a send only by what it skips. Nothing is stored, so the ids
// start at 1 in a fresh room.
func (b *bench) publishRaw(ctx context.Context, room string, id int64) error {
	n := strconv.FormatInt(id, 10)
	ev := chat.Event{ID: id, Room: room, Type: chat.EventMessage, At: time.Now().UTC(), Message: &chat.Message{
		ID: id, Room: room, User: "bench",
		Text:     "bench message " + n + " with **some** `markdown` and https://example.com",
		HTML:     `bench message ` + n + ` with <strong>some</strong> <code>markdown</code> and <a href="https://example.com" rel="nofollow noreferrer" target="_blank">https://example.com</a>`,
		SentAt:   time.Now().UTC(),
		ClientID: clientID(room, id),
	}}
	frame, err := chat.AppendFrame(nil, ev)
	if err != nil {
		return fmt.Errorf("encode raw message: %w", err)
	}
	if err := b.raw.Publish(ctx, chat.ChannelFor(room), n, strconv.FormatInt(id-1, 10), frame); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// clientID is a valid, distinct client id for message i of room.
func clientID(room string, i int64) string {
	var h uint32 = 2166136261
	for _, c := range []byte(room) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", h, i)
}
