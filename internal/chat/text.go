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
		// Format characters (zero-width space, joiners, direction marks)
		// are kept inside text, where emoji sequences need them, but a
		// message of nothing else would show as blank.
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			visible = true
		}
	}
	if !visible {
		return "", fmt.Errorf("normalize text: nothing visible: %w", ErrEmptyText)
	}
	return text, nil
}

// NormalizeUser trims a user name and checks it: valid UTF-8, 1 to
// MaxUserLen characters, no control or formatting characters and no comma.
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
	for _, r := range user {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == ',' {
			return "", fmt.Errorf("normalize user: character %U: %w", r, ErrInvalidUser)
		}
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
