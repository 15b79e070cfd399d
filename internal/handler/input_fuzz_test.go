package handler

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadSendBody: any body is either refused with a known error or
// decoded into valid UTF-8 text and clientId; an accepted body never turns
// an escape into U+FFFD (a lone surrogate), so U+FFFD comes out only if
// the body spelled it.
func FuzzReadSendBody(f *testing.F) {
	for _, s := range []string{
		`{"text":"hi","clientId":"8d0c5f6e-2f4a-4b7e-9a51-3c1e2d4f5a6b"}`,
		`{"message":"old client"}`,
		`{"text":"a\ud800b"}`,
		`{"text":"\ud83d\ude00 \\ud800"}`,
		`{"text":"\ufffd"}`,
		`{"text":5}`,
		`["hi"]`,
		`{"text":"x"} {"text":"y"}`,
		"{\"text\":\"bad \xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/room/x/messages", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		text, clientID, err := readSendBody(httptest.NewRecorder(), r)
		if err != nil {
			if status, _ := statusOf(err); status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("refused %q with %d: %v", body, status, err)
			}
			return
		}
		if !utf8.ValidString(text) || !utf8.ValidString(clientID) {
			t.Fatalf("accepted %q as invalid UTF-8", body)
		}
		if strings.ContainsRune(text+clientID, utf8.RuneError) && !strings.ContainsRune(string(body), utf8.RuneError) &&
			!strings.Contains(strings.ToLower(string(body)), `\ufffd`) {
			t.Fatalf("accepted %q, which decodes to U+FFFD it never spelled", body)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

// FuzzParseEventID: an accepted id is spelled exactly as the API writes
// it, so every id has one spelling.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"0", "1", "+1", "-1", "01", " 1", "1e3", "9223372036854775807", "9223372036854775808", "12345678901234567890", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseEventID(s)
		if err != nil {
			return
		}
		if n < 0 || strconv.FormatInt(n, 10) != s {
			t.Fatalf("ParseEventID(%q) = %d", s, n)
		}
	})
}

// FuzzFindLoneSurrogate: for every body json.Unmarshal accepts, the scan
// agrees with decoding each string escape: a lone surrogate is found
// exactly when the decoded strings hold a U+FFFD the raw text did not.
func FuzzFindLoneSurrogate(f *testing.F) {
	for _, s := range []string{`"\ud800"`, `"\ud83d\ude00"`, `"\\ud800"`, `"\udc00\ud800"`, `"\ufffd"`, `"\ud800\u0041"`, `"x\\\ud800"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v string
		if !utf8.ValidString(s) || json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		spelled := strings.Count(s, string(utf8.RuneError)) + strings.Count(strings.ToLower(s), `\ufffd`)
		produced := strings.Count(v, string(utf8.RuneError))
		lone := findLoneSurrogate([]byte(s))
		if lone != (produced > spelled) {
			t.Fatalf("findLoneSurrogate(%q) = %v; decoded %q (%d U+FFFD, %d spelled)", s, lone, v, produced, spelled)
		}
	})
}
