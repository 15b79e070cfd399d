package handler

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors of input parsing; statusOf maps them.
var (
	// errLoneSurrogate: a JSON string escapes half of a UTF-16 surrogate
	// pair. encoding/json would store it as U+FFFD, a character the author
	// never typed.
	errLoneSurrogate = errors.New("handler: request body escapes a lone UTF-16 surrogate")
	// ErrBadResumePoint means Last-Event-ID, ?lastEventId= or Grip-Last is
	// not an event id (the stream handler, package stream, returns it).
	ErrBadResumePoint = errors.New("handler: resume point is not an event id")
)

// maxIDDigits is the most digits an id may have: int64 holds every
// 19-digit number up to 9223372036854775807.
const maxIDDigits = 19

// ParseEventID parses an event id as this API writes it: plain ASCII
// decimal digits, no sign, no spaces, no leading zero (except "0" itself),
// at most 19 digits and within int64. Anything else ("+1", "-1", "01",
// " 1", "1e3", 20 digits) is an error: ids are compared and used as keys,
// so each id has one spelling.
func ParseEventID(s string) (int64, error) {
	if s == "" || len(s) > maxIDDigits {
		return 0, fmt.Errorf("parse id %.24q: not 1 to %d digits", s, maxIDDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("parse id %q: not plain digits", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("parse id %q: leading zero", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse id %q: %w", s, err)
	}
	return n, nil
}

// findLoneSurrogate reports whether the JSON text b has a \uXXXX escape of
// a UTF-16 surrogate that is not part of a high-low pair. Escapes appear
// only inside strings, and "\\" is skipped whole, so a scan of the raw
// bytes is exact for any text json.Unmarshal accepts.
func findLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return false
		}
		if b[i+1] != 'u' {
			i++ // a two-byte escape such as \\ or \"
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return false // malformed: json.Unmarshal refuses it
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF: // high: a low must follow
			if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11
					continue
				}
			}
			return true
		case r >= 0xDC00 && r <= 0xDFFF: // a low without its high
			return true
		}
		i += 5
	}
	return false
}

// hex4 decodes the four hex digits at b[at:at+4].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
