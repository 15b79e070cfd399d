package config

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzLoad: any environment either loads or fails with an error; a loaded
// configuration has positive whole-second timeouts equal to what was
// written, and no error repeats the publish token of GRIP_URL.
func FuzzLoad(f *testing.F) {
	f.Add("lobby:Lobby", "http://127.0.0.1:5561", "120", "20", "30", "send=20/1m/10", "debug")
	f.Add("a:A,b:B", "https://api.fastly.com/service/x?verify-iss=fastly:x&key=SECRETTOKEN", "2m", "1", "0", "", "info")
	f.Add("", "http://u:SECRETTOKEN@h/?key=SECRETTOKEN&x=1", "9223372036854775807", "-1", "x", "send=0/0", "loud")
	f.Add("x:X", "http://127.0.0.1:5561", "36028797018963969", "20", "1", "", "")
	f.Add("x", "ht!tp://%zz?key=SECRETTOKEN", "18446744074", "1.5s", "1e3", "send=1/1s/1,send=2/1s", "")
	f.Fuzz(func(t *testing.T, rooms, gripURL, link, keepAlive, retention, rateLimits, logLevel string) {
		env := map[string]string{
			EnvRooms: rooms, EnvGripURL: gripURL, EnvLinkTimeout: link, EnvKeepAlive: keepAlive,
			EnvRetentionDays: retention, EnvRateLimits: rateLimits, EnvLogLevel: logLevel,
		}
		c, err := Load(func(k string) string { return env[k] })
		if err != nil {
			if strings.Contains(gripURL, "SECRETTOKEN") && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Fatalf("error repeats the GRIP_URL token: %v", err)
			}
			return
		}
		for name, d := range map[string]time.Duration{EnvLinkTimeout: c.LinkTimeout, EnvKeepAlive: c.KeepAlive} {
			if d < time.Second || d%time.Second != 0 {
				t.Fatalf("%s loaded as %v", name, d)
			}
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(link), 10, 64); err == nil && c.LinkTimeout != time.Duration(n)*time.Second {
			t.Fatalf("%s %q loaded as %v", EnvLinkTimeout, link, c.LinkTimeout)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(link), 10, 64); err == nil && (n <= 0 || n > int64(maxSeconds)) {
			t.Fatalf("%s %q accepted", EnvLinkTimeout, link)
		}
		if c.RetentionDays < 0 {
			t.Fatalf("retention %d", c.RetentionDays)
		}
	})
}

// maxSeconds is the largest whole-second count a time.Duration holds.
const maxSeconds = int64(1<<63-1) / int64(time.Second)
