package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/handler"
)

// Presencer is what the stream handler needs of chat.Live to keep presence.
type Presencer interface {
	// Here refreshes v's presence in room and tells the room's listeners.
	Here(ctx context.Context, room string, v chat.Visitor) (bool, error)
	// Arrive refreshes v's presence like Here and returns the
	// presence-list frame a new stream starts with.
	Arrive(ctx context.Context, room string, v chat.Visitor) ([]byte, error)
}

var _ Presencer = (*chat.Live)(nil)

// Query parameters of a live stream. The page asks for live events with
// live=1 (and, as a guest, its guest id); the next link repeats them with
// the visitor, because the proxy's next-link requests carry none of the
// browser's headers, x-user included.
const (
	paramLive  = "live"
	paramUser  = "user"
	paramGuest = "guest"
)

// liveRequest reports whether r asks for the live channel (presence and
// typing) and the stream handler keeps presence.
func (h *streamHandler) liveRequest(r *http.Request) bool {
	return h.opts.Presence != nil && r.URL.Query().Get(paramLive) == "1"
}

// visitor returns who holds the stream. The edge's x-user names a signed-in
// user on the browser's own request. The user parameter of the next link is
// believed only on a request that carries Grip-Last: the proxy removes
// every Grip- header a client sends (Pushpin: unless the client is
// trusted), so only the proxy following a link this handler wrote sends
// one — and the request is signed (Grip-Sig) by the proxy. Otherwise the
// visitor is a guest: its guest id, or a new random one when it sent none.
func visitor(r *http.Request, fromProxy bool) chat.Visitor {
	if u, err := chat.NormalizeUser(handler.HeaderValue(r, "X-User")); err == nil {
		return chat.Visitor{User: u}
	}
	q := r.URL.Query()
	if fromProxy {
		if u, err := chat.NormalizeUser(q.Get(paramUser)); err == nil {
			return chat.Visitor{User: u}
		}
	}
	if g := q.Get(paramGuest); chat.ValidGuestID(g) {
		return chat.Visitor{Guest: g}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return chat.Visitor{Guest: hex.EncodeToString(b[:])}
}

// liveLink adds the live parameters and the visitor to a next link.
func liveLink(link string, v chat.Visitor) string {
	q := url.Values{paramLive: {"1"}}
	if v.User != "" {
		q.Set(paramUser, v.User)
	} else {
		q.Set(paramGuest, v.Guest)
	}
	return link + "&" + q.Encode()
}

// presence refreshes v's presence and, for a stream being opened (not a
// next link), returns the presence-list frame its body starts with.
// Presence is best effort: a failure is logged and the hold goes on.
func (h *streamHandler) presence(ctx context.Context, room string, v chat.Visitor, opening bool) []byte {
	if !opening {
		if _, err := h.opts.Presence.Here(ctx, room, v); err != nil {
			h.log.WarnContext(ctx, "presence refresh failed", slog.String("room", room), slog.String("err", err.Error()))
		}
		return nil
	}
	frame, err := h.opts.Presence.Arrive(ctx, room, v)
	if err != nil {
		h.log.WarnContext(ctx, "presence refresh or list failed", slog.String("room", room), slog.String("err", err.Error()))
	}
	return frame
}
