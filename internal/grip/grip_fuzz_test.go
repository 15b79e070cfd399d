package grip

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseLast: any Grip-Last values parse without panicking; a last-id
// found for a channel came from a part naming that channel and holds no
// comma (parts are split on commas) and no semicolon (parameters are).
func FuzzParseLast(f *testing.F) {
	f.Add("room-a; last-id=3", "room-a")
	f.Add(`room-b; last-id=1, room-a; last-id="7"`, "room-a")
	f.Add(`room-a; LAST-ID = "x\"y"`, "room-a")
	f.Add("room-a;last-id", "room-a")
	f.Add(`room-a; last-id="`, "room-a")
	f.Fuzz(func(t *testing.T, value, channel string) {
		id, ok := ParseLast([]string{value}, channel)
		if !ok {
			if id != "" {
				t.Fatalf("no match but id %q", id)
			}
			return
		}
		if !strings.Contains(value, strings.TrimSpace(channel)) {
			t.Fatalf("found %q for channel %q absent from %q", id, channel, value)
		}
		if strings.ContainsAny(id, ",;") && !strings.Contains(value, `"`) {
			t.Fatalf("id %q from %q holds a separator", id, value)
		}
	})
}

// FuzzParseGripURL: a GRIP_URL either fails with an error that never
// repeats its key, or yields a control URI without query, fragment or user
// info (go-gripcontrol appends "/publish/" to it), whose scheme is http(s).
func FuzzParseGripURL(f *testing.F) {
	f.Add("http://127.0.0.1:5561")
	f.Add("https://api.fastly.com/service/abc?verify-iss=fastly:abc&key=SECRETTOKEN")
	f.Add("https://api.fastly.com/service/abc?key=base64:U0VDUkVUVE9LRU4=&iss=x")
	f.Add("http://user:SECRETTOKEN@h/?key=SECRETTOKEN")
	f.Add("http://h/%zz?key=SECRETTOKEN")
	f.Add("ftp://h?key=SECRETTOKEN#frag")
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseGripURL(raw)
		if err != nil {
			if strings.Contains(raw, "SECRETTOKEN") && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Fatalf("error repeats the key: %v", err)
			}
			return
		}
		u, err := url.Parse(cfg.ControlURI)
		if err != nil {
			t.Fatalf("control URI %q does not parse: %v", cfg.ControlURI, err)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("control URI %q from %q", cfg.ControlURI, raw)
		}
		if strings.HasSuffix(cfg.ControlURI, "/") {
			t.Fatalf("control URI %q ends in /", cfg.ControlURI)
		}
		if cfg.ControlIss != "" && cfg.Key == "" {
			t.Fatalf("iss without key from %q", raw)
		}
	})
}
