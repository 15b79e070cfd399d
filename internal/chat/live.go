package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/fanout-chat/serverless-chat/internal/sse"
)

// LiveChannelFor returns the room's GRIP channel of live-only events
// (presence and typing): they are published without id and prev-id, never
// stored and never part of the room's event ids. A hold subscribes to it
// beside the room's reliable channel.
func LiveChannelFor(slug string) string { return "room-" + slug + "-live" }

// ClockChannelFor returns a channel on which nothing is ever published. A
// live hold subscribes to it too: Pushpin postpones a stream's next link
// only when every channel of the stream had a publish since the last one,
// so one silent channel makes the next link come every link timeout, busy
// room or not — the cadence that refreshes presence.
func ClockChannelFor(slug string) string { return "room-" + slug + "-clock" }

// The live event types: sent on the live channel or in a hold's body,
// without an SSE id, so they change neither the room's ids nor the
// browser's Last-Event-ID.
const (
	// EventPresence says one visitor is present for ttl more seconds.
	EventPresence EventType = "presence"
	// EventPresenceList is every visitor present when a stream opens.
	EventPresenceList EventType = "presence-list"
	// EventTyping says a user is typing (for ttl seconds) or stopped.
	EventTyping EventType = "typing"
)

// TypingTTL is how long a typing signal shows unless renewed. The page
// renews it at most every TypingTTL/2 while its user types.
const TypingTTL = 6 * time.Second

// MaxRefreshGap bounds the gap within which a second presence refresh of
// the same visitor is skipped (neither written nor published): the proxy's
// check of a new hold's next link a second after it opens, two tabs, or
// two connections sharing one next-link fetch.
const MaxRefreshGap = 5 * time.Second

// guestPattern is what a guest id looks like: the page makes a random one
// and keeps it, so one guest's tabs count once.
var guestPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// ValidGuestID reports whether s is a well-formed guest id.
func ValidGuestID(s string) bool { return guestPattern.MatchString(s) }

// Visitor is who holds a stream: a signed-in user (named) or a guest
// (counted by an opaque id, never named).
type Visitor struct {
	// User is the x-user name; empty for a guest.
	User string
	// Guest is the guest's id when User is empty.
	Guest string
}

// IsZero reports whether v names nobody.
func (v Visitor) IsZero() bool { return v.User == "" && v.Guest == "" }

// Presence is one visitor present in a room until a time.
type Presence struct {
	Visitor
	// Until is when the visitor stops counting as present unless refreshed.
	Until time.Time
}

// PresenceStore keeps who is present in each room. The DynamoDB adapter
// implements it; tests use an in-memory fake.
type PresenceStore interface {
	// Touch marks v present in room until until, stamped now, unless v's
	// last mark is newer than since (then it writes nothing and returns
	// false).
	Touch(ctx context.Context, room string, v Visitor, now, until, since time.Time) (bool, error)
	// Present returns the visitors of room present at now, without a Scan.
	Present(ctx context.Context, room string, now time.Time) ([]Presence, error)
}

// Live is the room's live-only side: presence (who is here) and typing
// signals. Nothing of it is in the room's event ids; presence is kept with
// an expiry, typing not at all.
type Live struct {
	pub   Publisher
	rooms *Rooms
	store PresenceStore
	ttl   time.Duration
	clock func() time.Time
	log   *slog.Logger
}

// LiveOption configures a Live.
type LiveOption func(*Live)

// WithPresence keeps presence in store: a visitor stays present for ttl
// after its last refresh.
func WithPresence(store PresenceStore, ttl time.Duration) LiveOption {
	return func(l *Live) { l.store, l.ttl = store, ttl }
}

// WithLiveClock sets the clock (default time.Now).
func WithLiveClock(now func() time.Time) LiveOption {
	return func(l *Live) {
		if now != nil {
			l.clock = now
		}
	}
}

// WithLiveLogger sets the logger (default slog.Default(); nil keeps it).
func WithLiveLogger(log *slog.Logger) LiveOption {
	return func(l *Live) {
		if log != nil {
			l.log = log
		}
	}
}

// ErrNoPresence is returned by the presence methods of a Live built
// without WithPresence.
var ErrNoPresence = errors.New("chat: presence is not configured")

// NewLive returns the live side of the rooms, publishing through pub.
func NewLive(pub Publisher, rooms *Rooms, opts ...LiveOption) (*Live, error) {
	if pub == nil || rooms == nil {
		return nil, errors.New("chat: new live: publisher and rooms are required")
	}
	l := &Live{pub: pub, rooms: rooms, clock: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(l)
	}
	if l.store != nil && l.ttl < 2*time.Second {
		return nil, fmt.Errorf("chat: new live: presence ttl %s is under 2s", l.ttl)
	}
	return l, nil
}

// PresenceTTL returns how long a visitor stays present after its last
// refresh (0 without presence).
func (l *Live) PresenceTTL() time.Duration { return l.ttl }

// refreshGap is the gap within which a second refresh is skipped: at most
// MaxRefreshGap, and a quarter of the ttl, so a skipped refresh never
// costs a visitor its presence.
func (l *Live) refreshGap() time.Duration { return min(MaxRefreshGap, l.ttl/4) }

// Here refreshes v's presence in room (a stream was opened or its next link
// called) and, unless v was refreshed moments ago, publishes it on the
// room's live channel. It reports whether it published.
func (l *Live) Here(ctx context.Context, room string, v Visitor) (bool, error) {
	if l.store == nil {
		return false, ErrNoPresence
	}
	if _, err := l.rooms.Lookup(room); err != nil {
		return false, err
	}
	if v.IsZero() {
		return false, errors.New("chat: presence: visitor is empty")
	}
	now := l.clock()
	wrote, err := l.store.Touch(ctx, room, v, now, now.Add(l.ttl), now.Add(-l.refreshGap()))
	if err != nil || !wrote {
		return false, err
	}
	return true, l.publishPresence(ctx, room, v, now)
}

// Arrive is Here for a stream being opened: it refreshes v's presence and
// returns the presence-list frame of room, v included. The list is read
// while the refresh is written and published, and v is put in it.
func (l *Live) Arrive(ctx context.Context, room string, v Visitor) ([]byte, error) {
	if l.store == nil {
		return nil, ErrNoPresence
	}
	if _, err := l.rooms.Lookup(room); err != nil {
		return nil, err
	}
	if v.IsZero() {
		return nil, errors.New("chat: presence: visitor is empty")
	}
	now := l.clock()
	var hereErr error
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		wrote, err := l.store.Touch(ctx, room, v, now, now.Add(l.ttl), now.Add(-l.refreshGap()))
		if err == nil && wrote {
			err = l.publishPresence(ctx, room, v, now)
		}
		hereErr = err
	}()
	ps, err := l.store.Present(ctx, room, now)
	<-refreshed
	if err != nil {
		return nil, errors.Join(fmt.Errorf("chat: presence of %s: %w", room, err), hereErr)
	}
	ps = slices.DeleteFunc(ps, func(p Presence) bool { return p.Visitor == v })
	ps = append(ps, Presence{Visitor: v, Until: now.Add(l.ttl)})
	slices.SortFunc(ps, func(a, b Presence) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Guest, b.Guest))
	})
	frame, err := l.listFrame(room, ps, now)
	return frame, errors.Join(err, hereErr)
}

// publishPresence tells the room that v is present for the ttl from now.
func (l *Live) publishPresence(ctx context.Context, room string, v Visitor, now time.Time) error {
	frame, err := liveFrame(EventPresence, memberOf(room, Presence{Visitor: v, Until: now.Add(l.ttl)}, now))
	if err != nil {
		return err
	}
	return l.publish(ctx, room, frame)
}

// PresenceFrame returns the presence-list frame of room: everyone present
// now, with the seconds each has left. A new stream starts with it.
func (l *Live) PresenceFrame(ctx context.Context, room string) ([]byte, error) {
	if l.store == nil {
		return nil, ErrNoPresence
	}
	now := l.clock()
	ps, err := l.store.Present(ctx, room, now)
	if err != nil {
		return nil, fmt.Errorf("chat: presence of %s: %w", room, err)
	}
	return l.listFrame(room, ps, now)
}

// listFrame encodes a presence-list frame of ps, in their order.
func (l *Live) listFrame(room string, ps []Presence, now time.Time) ([]byte, error) {
	list := presenceList{Room: room, TTL: ceilSeconds(l.ttl), Members: make([]member, 0, len(ps))}
	for _, p := range ps {
		list.Members = append(list.Members, memberOf("", p, now))
	}
	return liveFrame(EventPresenceList, list)
}

// Typing publishes that user is typing in room (for TypingTTL) or stopped.
// It stores nothing.
func (l *Live) Typing(ctx context.Context, room, user string, typing bool) error {
	if _, err := l.rooms.Lookup(room); err != nil {
		return err
	}
	u, err := NormalizeUser(user)
	if err != nil {
		return err
	}
	t := typingPayload{Room: room, User: u, Typing: typing}
	if typing {
		t.TTL = ceilSeconds(TypingTTL)
	}
	frame, err := liveFrame(EventTyping, t)
	if err != nil {
		return err
	}
	return l.publish(ctx, room, frame)
}

// publish sends a live frame without id or prev-id: the proxy delivers it
// to every stream on the live channel, whatever their place in the room's
// id chain.
func (l *Live) publish(ctx context.Context, room string, frame []byte) error {
	// The publisher bounds the publish (grip.PublishTimeout).
	if err := l.pub.Publish(ctx, LiveChannelFor(room), "", "", frame); err != nil {
		return fmt.Errorf("chat: publish live event of %s: %w", room, err)
	}
	return nil
}

// member is a visitor as the live events carry it.
type member struct {
	Room  string `json:"room,omitempty"`
	User  string `json:"user,omitempty"`
	Guest string `json:"guest,omitempty"`
	// TTL is the whole seconds left before the visitor expires.
	TTL int64 `json:"ttl"`
}

func memberOf(room string, p Presence, now time.Time) member {
	return member{Room: room, User: p.User, Guest: p.Guest, TTL: ceilSeconds(p.Until.Sub(now))}
}

// presenceList is the data of a presence-list event.
type presenceList struct {
	Room string `json:"room"`
	// TTL is how long a refresh keeps a visitor present.
	TTL     int64    `json:"ttl"`
	Members []member `json:"members"`
}

// typingPayload is the data of a typing event.
type typingPayload struct {
	Room   string `json:"room"`
	User   string `json:"user"`
	Typing bool   `json:"typing"`
	TTL    int64  `json:"ttl,omitempty"`
}

func liveFrame(t EventType, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("chat: encode %s event: %w", t, err)
	}
	frame, err := sse.Event{Type: string(t), Data: data}.Encode()
	if err != nil {
		return nil, fmt.Errorf("chat: frame %s event: %w", t, err)
	}
	return frame, nil
}

// ceilSeconds is d in whole seconds, rounded up, at least 1 for d > 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
