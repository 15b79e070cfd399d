package chat

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what users send.
const (
	// MaxTextLen is the most characters (Unicode code points) a message may
	// have after trimming. Longer text is refused, never truncated.
	MaxTextLen = 500
	// MaxUserLen is the most characters a user name may have.
	MaxUserLen = 64
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NormalizeText trims text, turns CRLF and CR into LF and checks it: valid
// UTF-8, no control characters but newline and tab, 1 to MaxTextLen
// characters.
func NormalizeText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("normalize text: %w", ErrInvalidText)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSpace(text)
	if text == "" {
		return "", fmt.Errorf("normalize text: %w", ErrEmptyText)
	}
	if n := utf8.RuneCountInString(text); n > MaxTextLen {
		return "", fmt.Errorf("normalize text: %d characters, at most %d: %w", n, MaxTextLen, ErrTextTooLong)
	}
	visible := false
	for _, r := range text {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return "", fmt.Errorf("normalize text: control character %U: %w", r, ErrInvalidText)
		}
		// Blank-rendering characters are kept inside text, where emoji
		// sequences and scripts need them, but a message of nothing else
		// would show as blank.
		if !Blank(r) {
			visible = true
		}
	}
	if !visible {
		return "", fmt.Errorf("normalize text: nothing visible: %w", ErrEmptyText)
	}
	return text, nil
}

// blankRunes are characters that render as nothing (or as an empty cell)
// and are not in the classes Blank checks by property: Hangul fillers
// (letters, Lo, but drawn empty), the blank braille pattern (a symbol, So)
// and the Khmer inherent vowels.
var blankRunes = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x115f, Hi: 0x1160, Stride: 1},
		{Lo: 0x17b4, Hi: 0x17b5, Stride: 1},
		{Lo: 0x2800, Hi: 0x2800, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xffa0, Hi: 0xffa0, Stride: 1},
	},
}

// Blank reports whether r renders as nothing on its own: white space (Zs,
// Zl, Zp and the ASCII spaces), format characters (Cf: zero-width space and
// joiners, direction marks, soft hyphen, tags), combining marks that need a
// base (Mn, Me), variation selectors, Unicode's other default-ignorable code
// points, the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the blank
// braille pattern U+2800 and the Khmer inherent vowels.
func Blank(r rune) bool {
	return unicode.IsSpace(r) ||
		unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me, unicode.Zs, unicode.Zl, unicode.Zp,
			unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point, blankRunes)
}

// NormalizeUser trims a user name and checks it: valid UTF-8, 1 to
// MaxUserLen characters, no control or formatting characters, no comma, and
// at least one character that is not Blank.
//
// Formatting characters (zero-width spaces, direction overrides) would let
// "ana\u200b" pass for "ana". Commas are refused because the Lambda proxy
// adapter splits header values on commas and trims the parts: "a,b" and
// "a, b" would arrive as the same name.
func NormalizeUser(user string) (string, error) {
	user = strings.TrimSpace(user)
	if user == "" || !utf8.ValidString(user) || utf8.RuneCountInString(user) > MaxUserLen {
		return "", fmt.Errorf("normalize user: %w", ErrInvalidUser)
	}
	visible := false
	for _, r := range user {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == ',' {
			return "", fmt.Errorf("normalize user: character %U: %w", r, ErrInvalidUser)
		}
		visible = visible || !Blank(r)
	}
	if !visible {
		// "\u3164" would show as a nameless author.
		return "", fmt.Errorf("normalize user: nothing visible: %w", ErrInvalidUser)
	}
	return user, nil
}

// NormalizeClientID lower-cases a client id and checks that it is a UUID.
// The empty string is allowed: the send is then not idempotent.
func NormalizeClientID(id string) (string, error) {
	if id == "" {
		return "", nil
	}
	id = strings.ToLower(id)
	if !uuidPattern.MatchString(id) {
		return "", fmt.Errorf("normalize clientId: %w", ErrInvalidClientID)
	}
	return id, nil
}
