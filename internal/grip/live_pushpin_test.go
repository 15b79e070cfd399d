package grip

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestPushpinSilentChannelKeepsTheLinkCadence: Pushpin postpones a stream's
// next link while every one of its channels had a publish since the last
// link timeout. A hold that also subscribes to a channel nobody publishes
// on (the room's clock channel) gets its next link every timeout however
// busy its other channels are: the cadence that refreshes presence. Here
// events are published on the reliable channel and on a live channel
// without ids, every 200 ms, and the origin must still see next-link
// requests come.
//
// Not parallel: it would hold one of the few parallel slots for seconds
// while TestVerify's subtests, whose tokens expire within the leeway, wait.
func TestPushpinSilentChannelKeepsTheLinkCadence(t *testing.T) {
	o := newOrigin(t)
	channel := fmt.Sprintf("room-clock-%d", time.Now().UnixNano())
	o.also = []string{channel + "-live", channel + "-clock"}
	o.linkTimeout = 2 * time.Second
	pp, pub := startStack(t, o)
	ctx := context.Background()

	start := time.Now()
	c := connect(t, pp.URL()+"/events?ch="+channel)
	// The check of a new subscription, about a second in.
	first := o.waitRequest(t, start, 10*time.Second, func(r originRequest) bool { return len(r.gripLast) > 0 })

	stop := make(chan struct{})
	published := make(chan error, 1)
	go func() {
		defer close(published)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id, f := o.add(channel)
			if err := pub.Publish(ctx, channel, strconv.Itoa(id), strconv.Itoa(id-1), []byte(f)); err != nil {
				published <- err
				return
			}
			if err := pub.Publish(ctx, channel+"-live", "", "", []byte("event: typing\ndata: {}\n\n")); err != nil {
				published <- err
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case <-c.frames:
			case <-c.closed:
				return
			}
		}
	}()
	// Two more next links while both channels keep getting publishes.
	since := first.at.Add(time.Millisecond)
	o.waitRequest(t, since, 60*time.Second, func(r originRequest) bool {
		n := 0
		for _, q := range o.requestsSince(since) {
			if len(q.gripLast) > 0 {
				n++
			}
		}
		return n >= 2
	})
	close(stop)
	if err := <-published; err != nil {
		t.Fatalf("publish: %v", err)
	}
}
