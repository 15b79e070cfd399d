package grip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fanout/go-gripcontrol"
	"github.com/fanout/go-pubcontrol"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// PublishTimeout bounds one publish when the caller's context has no
// earlier deadline: the one publish timeout of the project. A send waits for
// its publish, and a late publish is recovered through the next link
// anyway, so a slow proxy must not hold the send's answer for long.
const PublishTimeout = 3 * time.Second

var _ chat.Publisher = (*Publisher)(nil)

// Option configures a Publisher.
type Option func(*Publisher)

// withTimeout bounds every publish to d instead of PublishTimeout (d <= 0
// keeps it), for tests. The caller's context still applies when its
// deadline is earlier, as it is inside a Lambda invocation.
func withTimeout(d time.Duration) Option {
	return func(p *Publisher) {
		if d > 0 {
			p.timeout = d
		}
	}
}

// WithLogger sets the logger for publishes abandoned at their deadline
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(p *Publisher) {
		if l != nil {
			p.log = l
		}
	}
}

// Publisher publishes SSE frames to a GRIP proxy's control API with
// go-gripcontrol. It implements chat.Publisher and is safe for concurrent
// use; build it once per cold start so its HTTP connections are reused.
type Publisher struct {
	pub        *gripcontrol.GripPubControl
	controlURI string
	timeout    time.Duration
	log        *slog.Logger
}

// NewPublisher returns a Publisher for cfg. Authentication follows cfg: a
// Bearer token (Key), an HS256 JWT (ControlIss + Key), or none.
func NewPublisher(cfg PublishConfig, opts ...Option) (*Publisher, error) {
	if cfg.ControlURI == "" {
		return nil, errors.New("grip: publisher control URI is empty")
	}
	entry := map[string]any{"control_uri": cfg.ControlURI}
	// go-gripcontrol v1.2.0 (ApplyGripConfig): "key" without "control_iss"
	// becomes SetAuthBearer(key), i.e. "Authorization: Bearer <key>" — what
	// Fastly's API expects; with "control_iss" it signs a JWT instead.
	if cfg.Key != "" {
		entry["key"] = cfg.Key
	}
	if cfg.ControlIss != "" {
		entry["control_iss"] = cfg.ControlIss
	}
	p := &Publisher{
		pub:        gripcontrol.NewGripPubControl([]map[string]any{entry}),
		controlURI: cfg.ControlURI,
		timeout:    PublishTimeout,
		log:        slog.Default(),
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Publish sends frame, an encoded SSE frame, as an http-stream item on
// channel with the given id and prev-id (empty omits them). It returns when
// the proxy accepted the item, or when ctx or the publisher's timeout ends.
//
// go-gripcontrol takes no context and keeps its own unexported http.Client
// (15 s timeout), so the call runs in a goroutine and Publish stops waiting
// at the deadline; the abandoned request ends by itself within 15 s. A
// publish abandoned or failed this way is not lost for held clients: the
// next publish's prev-id no longer matches and Pushpin fetches the next link.
func (p *Publisher) Publish(ctx context.Context, channel, id, prevID string, frame []byte) error {
	if channel == "" {
		return errors.New("grip: publish: channel is empty")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %s id %s: %w", channel, id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	// The goroutine may outlive this call: give it its own copy of frame.
	stream := &gripcontrol.HttpStreamFormat{Content: bytes.Clone(frame)}
	item := pubcontrol.NewItem([]pubcontrol.Formatter{formats{stream}}, id, prevID)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- p.pub.Publish(channel, item)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("publish %s id %s to %s: %w", channel, id, p.controlURI, err)
		}
		return nil
	case <-ctx.Done():
		p.log.WarnContext(ctx, "grip publish abandoned at deadline",
			slog.String("channel", channel), slog.String("id", id),
			slog.Duration("waited", time.Since(start)))
		return fmt.Errorf("publish %s id %s to %s: %w", channel, id, p.controlURI, ctx.Err())
	}
}

// formats puts an item's formats under the "formats" key, as Fastly's
// publishing API requires (it is a required field there). go-pubcontrol
// v1.2.0 writes each format at the top level of the item instead, the older
// GRIP form that Pushpin still reads but Fanout does not document; as a
// Formatter named "formats", this wrapper makes go-pubcontrol write the
// documented shape: {"channel","id","prev-id","formats":{"http-stream":{...}}}.
type formats []pubcontrol.Formatter

// Name implements pubcontrol.Formatter.
func (formats) Name() string { return "formats" }

// Export implements pubcontrol.Formatter.
func (f formats) Export() interface{} {
	out := make(map[string]interface{}, len(f))
	for _, format := range f {
		out[format.Name()] = format.Export()
	}
	return out
}
