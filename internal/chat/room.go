package chat

import (
	"fmt"
	"regexp"
	"strings"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Room is one chat room: a URL slug and a display name.
type Room struct {
	// Slug names the room in URLs and keys ([a-z0-9-]{1,64}).
	Slug string `json:"slug"`
	// Name is the display name (the slug when none is configured).
	Name string `json:"name"`
}

// ChannelFor returns the GRIP channel of the room with that slug.
func ChannelFor(slug string) string { return "room-" + slug }

// ValidSlug reports whether s is a well-formed room slug ([a-z0-9-]{1,64}).
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Rooms is the configured, ordered list of rooms; the first is the default.
type Rooms struct {
	list  []Room
	index map[string]int
}

// DefaultRooms is the room list used when none is configured: the rooms of
// the original app.
const DefaultRooms = "devops-exchange-ldn:DevOps Exchange London,devops-bcn:DevOps Barcelona"

// ParseRooms parses "slug:Name,slug:Name". A missing name defaults to the
// slug. It fails on an empty list, a malformed slug or a repeated slug.
func ParseRooms(spec string) (*Rooms, error) {
	rs := &Rooms{index: map[string]int{}}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		slug, name, _ := strings.Cut(part, ":")
		slug, name = strings.TrimSpace(slug), strings.TrimSpace(name)
		if !ValidSlug(slug) {
			return nil, fmt.Errorf("chat: parse rooms: slug %q must match [a-z0-9-]{1,64}", slug)
		}
		if _, dup := rs.index[slug]; dup {
			return nil, fmt.Errorf("chat: parse rooms: slug %q appears twice", slug)
		}
		if name == "" {
			name = slug
		}
		rs.index[slug] = len(rs.list)
		rs.list = append(rs.list, Room{Slug: slug, Name: name})
	}
	if len(rs.list) == 0 {
		return nil, fmt.Errorf("chat: parse rooms: no room in %q", spec)
	}
	return rs, nil
}

// Lookup returns the room with that slug, or ErrRoomNotFound.
func (rs *Rooms) Lookup(slug string) (Room, error) {
	i, ok := rs.index[slug]
	if !ok {
		return Room{}, fmt.Errorf("lookup room %q: %w", slug, ErrRoomNotFound)
	}
	return rs.list[i], nil
}

// Default returns the first configured room.
func (rs *Rooms) Default() Room { return rs.list[0] }

// All returns a copy of the configured rooms in order.
func (rs *Rooms) All() []Room { return append([]Room(nil), rs.list...) }
