package handler

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/grip"
)

// Resumer is what the stream handler needs of the chat service.
type Resumer interface {
	Resume(ctx context.Context, room string, after int64) (chat.Replay, error)
}

var _ Resumer = (*chat.Service)(nil)

// SignatureVerifier checks a Grip-Sig header value. Errors wrap
// grip.ErrNoSignature or grip.ErrInvalidSignature.
type SignatureVerifier interface {
	Verify(token string) error
}

var _ SignatureVerifier = (*grip.Verifier)(nil)

// StreamOptions tunes the GRIP hold.
type StreamOptions struct {
	// LinkTimeout is how long Pushpin waits on an idle stream before calling
	// the next link anyway (each call is one invocation per held connection).
	LinkTimeout time.Duration
	// KeepAlive is the idle time after which Pushpin sends an SSE comment.
	KeepAlive time.Duration
}

type streamHandler struct {
	svc    Resumer
	verify SignatureVerifier
	opts   StreamOptions
	log    *slog.Logger
}

// NewStreamHandler returns the stream function's handler. It answers only
// requests signed by the GRIP proxy: a request without Grip-Sig is 406 and
// one whose signature fails verification is 501, as in the original app.
// Otherwise it answers the events the client missed and a GRIP stream hold
// on the room's channel whose prev-id is the last id sent, with a next link
// that resumes from there.
func NewStreamHandler(svc Resumer, v SignatureVerifier, so StreamOptions, opts ...Option) http.Handler {
	o := newOptions(opts)
	h := &streamHandler{svc: svc, verify: v, opts: so, log: o.log}
	return newMux(o.log, h.endpoints())
}

// StreamRoutes returns the routes of the stream function.
func StreamRoutes() []Route { return routesOf((*streamHandler)(nil).endpoints()) }

func (h *streamHandler) endpoints() []endpoint {
	return []endpoint{
		{Route{http.MethodGet, "/room/{room}/events"}, h.events},
	}
}

// NextLink returns the next link of a hold on room whose last delivered
// event is lastID. Pushpin calls it with Grip-Last when it detects a gap or
// the link times out; the lastEventId parameter serves a client that
// follows the link without Grip-Last.
func NextLink(room string, lastID int64) string {
	return "/room/" + room + "/events?lastEventId=" + strconv.FormatInt(lastID, 10)
}

func (h *streamHandler) events(w http.ResponseWriter, r *http.Request) {
	sig := headerValue(r, "Grip-Sig")
	if sig == "" {
		writeError(w, r, h.log, errNoGripProxy)
		return
	}
	if err := h.verify.Verify(sig); err != nil {
		writeError(w, r, h.log, fmt.Errorf("verify Grip-Sig: %w", err))
		return
	}
	slug := r.PathValue("room")
	channel := chat.ChannelFor(slug)
	after := resumePoint(r, channel)
	replay, err := h.svc.Resume(r.Context(), slug, after)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	body, err := replay.Frames()
	if err != nil {
		writeError(w, r, h.log, fmt.Errorf("encode replay of %s after %d: %w", slug, after, err))
		return
	}
	grip.Hold{
		Channel:     channel,
		PrevID:      strconv.FormatInt(replay.LastID, 10),
		NextLink:    NextLink(slug, replay.LastID),
		LinkTimeout: h.opts.LinkTimeout,
		KeepAlive:   h.opts.KeepAlive,
	}.Apply(w.Header())
	// Explicit: with an empty body the Lambda proxy adapter would otherwise
	// have no status and fail the response.
	w.WriteHeader(http.StatusOK)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
	h.log.DebugContext(r.Context(), "stream hold", slog.String("room", slug), slog.Int64("after", after),
		slog.Int("events", len(replay.Events)), slog.Int64("prevId", replay.LastID))
}

// resumePoint returns the id after which the client wants events, or -1 for
// none. Grip-Last (Pushpin following the next link) wins over Last-Event-ID
// (a reconnecting browser), which wins over ?lastEventId= (the next link
// itself, or a client that cannot set headers). A malformed value is
// treated as absent: ids this API hands out are non-negative integers, so a
// malformed one did not come from it and there is nothing to resume.
func resumePoint(r *http.Request, channel string) int64 {
	if v, ok := grip.ParseLast(r.Header.Values("Grip-Last"), channel); ok {
		if n, ok := parseID(v); ok {
			return n
		}
	}
	// Through the Lambda adapter a header value with commas arrives split;
	// several values then mean a malformed id, which parseID refuses.
	if vs := r.Header.Values("Last-Event-Id"); len(vs) > 0 {
		if n, ok := parseID(strings.Join(vs, ",")); ok {
			return n
		}
	}
	if n, ok := parseID(r.URL.Query().Get("lastEventId")); ok {
		return n
	}
	return -1
}

func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
