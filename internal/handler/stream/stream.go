// Package stream holds the stream function's net/http handler: it answers a
// request the GRIP proxy signed with the events the client missed and a GRIP
// stream hold on the room's channel. It is apart from package handler, whose
// routing, input parsing and error mapping it shares, so that only the
// stream function links GRIP and JWT code.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/emf"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// Resumer is what the stream handler needs of the chat service.
type Resumer interface {
	ResumeUpTo(ctx context.Context, room string, after int64, limit int) (chat.Replay, error)
}

var _ Resumer = (*chat.Service)(nil)

// SignatureVerifier checks a Grip-Sig header value. Errors wrap
// grip.ErrNoSignature or grip.ErrInvalidSignature.
type SignatureVerifier interface {
	Verify(token string) error
}

var _ SignatureVerifier = (*grip.Verifier)(nil)

// Options tunes the GRIP hold.
type Options struct {
	// LinkTimeout is how long Pushpin waits on an idle stream before calling
	// the next link anyway (each call is one invocation per held connection).
	LinkTimeout time.Duration
	// KeepAlive is the idle time after which Pushpin sends an SSE comment.
	KeepAlive time.Duration
	// CatchUpTimeout replaces LinkTimeout in an answer that leaves events
	// out (the listener is catching up), so the proxy fetches the next
	// page soon; zero means DefaultCatchUpTimeout.
	CatchUpTimeout time.Duration
	// Retry is the shortest reconnection delay the SSE retry field of a
	// listener's first answer asks for; zero means DefaultRetry.
	Retry time.Duration
	// RetryJitter is the spread added to Retry, drawn per answer so that
	// listeners dropped together do not come back together; zero means
	// DefaultRetryJitter, negative none.
	RetryJitter time.Duration
	// Rand returns a number in [0, 1) for the jitter; nil means
	// math/rand/v2's Float64.
	Rand func() float64
	// SuspectTimeout replaces LinkTimeout (when shorter) for SuspectWindow
	// after a sign of trouble: a next-link answer that had to replay
	// events (the proxy found a gap, or the listener was behind). Losses
	// cluster, so publishes lost in such a stretch, with nothing after
	// them, are then noticed within one or two SuspectTimeouts instead of
	// LinkTimeouts. Zero means DefaultSuspectTimeout.
	SuspectTimeout time.Duration
	// SuspectWindow is how long a sign of trouble keeps SuspectTimeout;
	// zero means DefaultSuspectWindow, negative turns suspicion off.
	SuspectWindow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Presence, when set, serves live streams (?live=1): they also
	// subscribe to the room's live channel (presence, typing) and each of
	// their invocations refreshes the visitor's presence. Its ttl must
	// exceed LinkTimeout, the cadence of the refreshes.
	Presence Presencer
}

// Defaults of Options.
const (
	// DefaultCatchUpTimeout is the next-link timeout while a listener is
	// catching up: the proxy's shortest (it counts whole seconds).
	DefaultCatchUpTimeout = time.Second
	// DefaultRetry and DefaultRetryJitter make browsers reconnect 1–4 s
	// after a dropped stream: a proxy restart that drops every listener
	// then spreads their reconnects (each one a stream invocation) over
	// three seconds instead of EventSource's fixed default.
	DefaultRetry       = time.Second
	DefaultRetryJitter = 3 * time.Second
	// DefaultSuspectTimeout and DefaultSuspectWindow: after trouble, the
	// proxy checks the next link 3 s after the last delivery, for 30 s;
	// see docs/architecture.md (Recovery) for the measurements.
	DefaultSuspectTimeout = 3 * time.Second
	DefaultSuspectWindow  = 30 * time.Second
)

type streamHandler struct {
	svc    Resumer
	verify SignatureVerifier
	opts   Options
	log    *slog.Logger
}

// New returns the stream function's handler. It answers only
// requests signed by the GRIP proxy: a request without Grip-Sig is 406 and
// one whose signature fails verification is 501, as in the original app.
// Otherwise it answers the events the client missed and a GRIP stream hold
// on the room's channel whose prev-id is the last id sent, with a next link
// that resumes from there.
func New(svc Resumer, v SignatureVerifier, so Options, opts ...handler.Option) http.Handler {
	log := handler.Logger(opts...)
	if so.CatchUpTimeout <= 0 {
		so.CatchUpTimeout = DefaultCatchUpTimeout
	}
	if so.Retry <= 0 {
		so.Retry = DefaultRetry
	}
	if so.RetryJitter == 0 {
		so.RetryJitter = DefaultRetryJitter
	}
	if so.Rand == nil {
		so.Rand = rand.Float64
	}
	if so.SuspectTimeout <= 0 {
		so.SuspectTimeout = DefaultSuspectTimeout
	}
	if so.SuspectWindow == 0 {
		so.SuspectWindow = DefaultSuspectWindow
	}
	if so.Now == nil {
		so.Now = time.Now
	}
	h := &streamHandler{svc: svc, verify: v, opts: so, log: log}
	return handler.NewMux(log, h.endpoints())
}

// Routes returns the routes of the stream function.
func Routes() []handler.Route { return handler.Routes((*streamHandler)(nil).endpoints()) }

func (h *streamHandler) endpoints() []handler.Endpoint {
	return []handler.Endpoint{
		{Route: handler.Route{Method: http.MethodGet, Path: "/room/{room}/events"}, Handler: h.events},
	}
}

// NextLink returns the next link of a hold on room whose last delivered
// event is lastID. Pushpin calls it with Grip-Last when it detects a gap or
// the link times out; the lastEventId parameter serves a client that
// follows the link without Grip-Last.
func NextLink(room string, lastID int64) string {
	return "/room/" + room + "/events?lastEventId=" + strconv.FormatInt(lastID, 10)
}

// paramSuspect is the next link's parameter holding when (Unix seconds)
// the stream last showed a sign of trouble, while that is within
// SuspectWindow. The link is the only memory a stream has between
// invocations.
const paramSuspect = "suspect"

// suspectSince returns when the stream last showed trouble, or zero: now
// when this next-link answer is itself a sign (it replays events: the
// proxy found a gap, or the listener is catching up), else the link's
// suspect parameter if it lies within the window (a value from the
// future, which only a hand-made URL can carry, is ignored).
//
// Only losses count. A listener's own request (a connect or reconnect) is
// no sign: reconnects come in storms, and each would cost SuspectWindow /
// SuspectTimeout extra invocations. Nor is activity (a listener delivered
// messages since its previous next link): in a busy room that would keep
// the 3 s checks going for as long as the room is busy, one invocation per
// pause per listener, where the design promises none per message.
func (h *streamHandler) suspectSince(r *http.Request, fromProxy, replayed bool, now time.Time) time.Time {
	if h.opts.SuspectWindow < 0 {
		return time.Time{}
	}
	if fromProxy && replayed {
		return now
	}
	if n, err := handler.ParseEventID(r.URL.Query().Get(paramSuspect)); err == nil {
		if at := time.Unix(n, 0); !at.After(now) && now.Sub(at) < h.opts.SuspectWindow {
			return at
		}
	}
	return time.Time{}
}

func (h *streamHandler) events(w http.ResponseWriter, r *http.Request) {
	sig := handler.HeaderValue(r, "Grip-Sig")
	if sig == "" {
		handler.WriteError(w, r, h.log, handler.ErrNoGripProxy)
		return
	}
	if err := h.verify.Verify(sig); err != nil {
		// The HTTP layer's mapping knows its own sentinels, not grip's.
		sentinel := handler.ErrInvalidGripSig
		if errors.Is(err, grip.ErrNoSignature) {
			sentinel = handler.ErrNoGripProxy
		}
		handler.WriteError(w, r, h.log, fmt.Errorf("verify Grip-Sig: %w: %w", sentinel, err))
		return
	}
	slug := r.PathValue("room")
	channel := chat.ChannelFor(slug)
	after, fromProxy, err := resumePoint(r, channel)
	if err != nil {
		handler.WriteError(w, r, h.log, err)
		return
	}
	// The proxy streams a next link's answer through; a listener's own
	// request is buffered by Pushpin and must stay small.
	limit, maxBytes := chat.ResumeLimit, chat.ResumeMaxBytes
	if fromProxy {
		limit, maxBytes = chat.CatchUpLimit, chat.CatchUpMaxBytes
	}
	// A live stream refreshes presence while the replay is read.
	live := h.liveRequest(r)
	var (
		who      chat.Visitor
		presence []byte
		done     = make(chan struct{})
	)
	if live {
		who = visitor(r, fromProxy)
		go func() {
			defer close(done)
			presence = h.presence(r.Context(), slug, who, !fromProxy)
		}()
	} else {
		close(done)
	}
	replay, err := h.svc.ResumeUpTo(r.Context(), slug, after, limit)
	<-done
	if err != nil {
		handler.WriteError(w, r, h.log, err)
		return
	}
	if !fromProxy {
		// The presence list and the retry field share Pushpin's budget
		// for a first answer; at least one event always goes.
		maxBytes -= len(presence) + 32
	}
	frames, replay, err := replay.FramesWithin(maxBytes)
	if err != nil {
		handler.WriteError(w, r, h.log, fmt.Errorf("encode replay of %s after %d: %w", slug, after, err))
		return
	}
	var body []byte
	if !fromProxy {
		// Only the listener's own request: a next link's body is appended
		// to a stream that already has one.
		body = sse.AppendRetry(body, h.retry())
	}
	// Who is here comes first, once, on a live listener's own request.
	body = append(body, presence...)
	body = append(body, frames...)
	// Why: Pushpin fetches the next link only on a gap it sees (a later
	// publish), on a new subscription or after the link's timeout, which
	// every delivery restarts. A lost publish with nothing after it is
	// noticed only by that timeout, so the timeout is short while trouble
	// is likely, and LinkTimeout (cheap) otherwise.
	linkTimeout, link := h.opts.LinkTimeout, NextLink(slug, replay.LastID)
	now := h.opts.Now()
	if since := h.suspectSince(r, fromProxy, len(replay.Events) > 0, now); !since.IsZero() {
		linkTimeout = min(linkTimeout, h.opts.SuspectTimeout)
		link += "&" + paramSuspect + "=" + strconv.FormatInt(since.Unix(), 10)
	}
	if replay.More {
		// A listener with pages still to read would otherwise wait a
		// whole timeout per page.
		linkTimeout = h.opts.CatchUpTimeout
	}
	hold := grip.Hold{
		Channel:     channel,
		PrevID:      strconv.FormatInt(replay.LastID, 10),
		NextLink:    link,
		LinkTimeout: linkTimeout,
		KeepAlive:   h.opts.KeepAlive,
	}
	if live {
		hold.Also = []string{chat.LiveChannelFor(slug), chat.ClockChannelFor(slug)}
		hold.NextLink = liveLink(hold.NextLink, who)
	}
	hold.Apply(w.Header())
	// Explicit: with an empty body the Lambda proxy adapter would otherwise
	// have no status and fail the response.
	w.WriteHeader(http.StatusOK)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
	metric := emf.StreamHolds
	if fromProxy {
		metric = emf.NextLinkCalls
	}
	h.log.InfoContext(r.Context(), "stream hold", append([]any{slog.String("room", slug), slog.Int64("after", after),
		slog.Bool("nextLink", fromProxy), slog.Int("events", len(replay.Events)), slog.Int64("prevId", replay.LastID),
		slog.Bool("more", replay.More)}, emf.Count(time.Now(), metric)...)...)
}

// retry returns the reconnection delay for one answer: Retry plus a random
// share of RetryJitter.
func (h *streamHandler) retry() time.Duration {
	d := h.opts.Retry
	if h.opts.RetryJitter > 0 {
		d += time.Duration(h.opts.Rand() * float64(h.opts.RetryJitter))
	}
	return d
}

// resumePoint returns the id after which the client wants events (-1 for
// none) and whether it came from the proxy's Grip-Last. Grip-Last
// (Pushpin following the next link) wins over Last-Event-ID (a
// reconnecting browser), which wins over ?lastEventId= (the next link
// itself, or a client that cannot set headers). An empty value is absent.
//
// A present value that is not an event id as this API writes it (plain
// digits, at most 19: "abc", "-1", "+1", 20 digits) is an error, answered
// 400: it did not come from this API, and guessing (from 0, or from now)
// would silently replay everything or skip what the client missed.
func resumePoint(r *http.Request, channel string) (int64, bool, error) {
	if v, ok := grip.ParseLast(r.Header.Values("Grip-Last"), channel); ok {
		n, err := handler.ParseEventID(strings.TrimSpace(v))
		if err != nil {
			return 0, true, fmt.Errorf("Grip-Last: %w: %w", handler.ErrBadResumePoint, err)
		}
		return n, true, nil
	}
	// Through the Lambda adapter a header value with commas arrives split;
	// several values then mean a malformed id, which parseEventID refuses.
	if vs := r.Header.Values("Last-Event-Id"); len(vs) > 0 {
		if v := strings.TrimSpace(strings.Join(vs, ",")); v != "" {
			n, err := handler.ParseEventID(v)
			if err != nil {
				return 0, false, fmt.Errorf("Last-Event-ID: %w: %w", handler.ErrBadResumePoint, err)
			}
			return n, false, nil
		}
	}
	if vs, ok := r.URL.Query()["lastEventId"]; ok {
		if v := strings.TrimSpace(strings.Join(vs, ",")); v != "" {
			n, err := handler.ParseEventID(v)
			if err != nil {
				return 0, false, fmt.Errorf("lastEventId: %w: %w", handler.ErrBadResumePoint, err)
			}
			return n, false, nil
		}
	}
	return -1, false, nil
}
