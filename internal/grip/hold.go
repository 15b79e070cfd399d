package grip

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fanout/go-gripcontrol"
)

// DefaultKeepAlive is the idle time after which the proxy sends an SSE
// comment on a held stream when Hold.KeepAlive is zero. API Gateway, load
// balancers and browsers drop quiet connections; 20 s stays well under the
// usual 30–60 s idle limits.
const DefaultKeepAlive = 20 * time.Second

// Hold describes the GRIP stream hold answered to a stream request and to
// every next-link request (see the package documentation for why the latter
// must repeat the whole hold).
type Hold struct {
	// Channel is the GRIP channel to subscribe to, e.g. "room-lobby". It must
	// not contain ',', ';' or spaces.
	Channel string
	// Also are more channels the stream subscribes to, without prev-id:
	// publishes on them reach the stream whatever its place in Channel's id
	// chain (GRIP lets a hold list several channels; Fanout subscribes a
	// connection to "one or more channels" too). Same rules as Channel.
	Also []string
	// PrevID is the id of the last event written into this response (or
	// already delivered before it); empty turns reliability off. Pushpin
	// delivers a publish only if its prev-id equals this value, else it
	// calls NextLink.
	PrevID string
	// NextLink is the URL Pushpin fetches to recover missed events, absolute
	// or relative to the request; it must not contain '>'. Empty means no
	// Grip-Link (and Pushpin then refuses a PrevID).
	NextLink string
	// LinkTimeout is how long a stream may go without a publish before
	// Pushpin fetches NextLink anyway; it is rounded up to whole seconds.
	// Zero omits the parameter (Pushpin's default is 120 s).
	LinkTimeout time.Duration
	// KeepAlive is the idle time after which Pushpin writes an SSE comment;
	// zero means DefaultKeepAlive, negative sends no Grip-Keep-Alive.
	KeepAlive time.Duration
}

// keepAliveComment is an SSE comment line followed by a blank line, escaped
// for format=cstring: Pushpin unescapes \n. The blank line ends a frame with
// an empty data buffer, which EventSource ignores.
const keepAliveComment = `:\n\n`

// Apply sets the hold instructions and the SSE response headers on hdr. It
// does not write the status: call WriteHeader(http.StatusOK) after it (the
// Lambda proxy adapter fails an empty body without an explicit status).
func (h Hold) Apply(hdr http.Header) {
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Grip-Hold", "stream")
	channels := []*gripcontrol.Channel{{Name: h.Channel, PrevId: h.PrevID}}
	for _, c := range h.Also {
		channels = append(channels, &gripcontrol.Channel{Name: c})
	}
	hdr.Set("Grip-Channel", gripcontrol.CreateGripChannelHeader(channels))
	if h.NextLink != "" {
		link := "<" + h.NextLink + ">; rel=next"
		if h.LinkTimeout > 0 {
			link += "; timeout=" + strconv.FormatInt(ceilSeconds(h.LinkTimeout), 10)
		}
		hdr.Set("Grip-Link", link)
	} else {
		hdr.Del("Grip-Link")
	}
	keepAlive := h.KeepAlive
	if keepAlive == 0 {
		keepAlive = DefaultKeepAlive
	}
	if keepAlive > 0 {
		hdr.Set("Grip-Keep-Alive", keepAliveComment+"; format=cstring; timeout="+
			strconv.FormatInt(ceilSeconds(keepAlive), 10)+"; mode=idle")
	} else {
		hdr.Del("Grip-Keep-Alive")
	}
}

// ceilSeconds returns d in whole seconds, rounded up, at least 1.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ParseLast returns the last-id Pushpin reports for channel in the Grip-Last
// request header values, and whether there was one. Pushpin sends one header
// per channel ("room-a; last-id=3"), but values may also arrive joined by
// commas ("ch1; last-id=3, ch2; last-id=9") — API Gateway joins repeated
// headers, and aws-lambda-go-api-proxy splits them again on commas — so
// every value is split on commas and each part parsed on its own. A
// last-id may be a quoted string.
func ParseLast(values []string, channel string) (lastID string, ok bool) {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if strings.TrimSpace(name) != channel {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				key, val, found := strings.Cut(param, "=")
				if !found || !strings.EqualFold(strings.TrimSpace(key), "last-id") {
					continue
				}
				val = strings.TrimSpace(val)
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					if uq, err := strconv.Unquote(val); err == nil {
						val = uq
					} else {
						val = val[1 : len(val)-1]
					}
				}
				return val, true
			}
		}
	}
	return "", false
}
