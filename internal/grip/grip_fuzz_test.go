package grip

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/config"
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

// FuzzVerify: any Grip-Sig value is either accepted or refused with one of
// the two documented errors, never a panic; a refused one stays refused
// with surrounding spaces.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	secret := []byte("pushpin-sig-key")
	v, err := NewVerifier(VerifierConfig{Key: secret, Issuer: "pushpin", Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	valid, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": now.Add(time.Hour).Unix()}).SignedString(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add("e30.e30.x")
	f.Add(valid[:len(valid)-2])
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		err := v.Verify(token)
		if err != nil && !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrNoSignature) {
			t.Fatalf("Verify(%q) = %v, not one of the documented errors", token, err)
		}
		if err == nil && strings.TrimSpace(token) != valid {
			// Base64url can spell the same bytes in more than one way, so
			// the token may differ from valid; its claims may not.
			claims := jwt.MapClaims{}
			if _, _, perr := jwt.NewParser().ParseUnverified(strings.TrimSpace(token), claims); perr != nil || claims["iss"] != "pushpin" {
				t.Fatalf("accepted %q with claims %v", token, claims)
			}
		}
	})
}

// FuzzConfigFromEnv: the GRIP part of the configuration loads or fails
// with an error that never repeats the publish token or the verify key;
// whatever it loads builds a Verifier or fails cleanly.
func FuzzConfigFromEnv(f *testing.F) {
	f.Add("http://127.0.0.1:5561", "base64:bG9jYWwtZ3JpcC1zaWcta2V5", "pushpin", "", "")
	f.Add("https://api.fastly.com/service/x?verify-iss=fastly:x&key=SECRETTOKEN", "", "", "x", "SECRETTOKEN")
	f.Add("", "base64:"+FastlyPublicKey, "", "svc", "")
	f.Add("http://0?SECRETTOKEN", "base64:!!SECRETTOKEN", "", "", "")
	f.Add("", "-----BEGIN PUBLIC KEY-----SECRETTOKEN", "", "", "")
	f.Fuzz(func(t *testing.T, gripURL, verifyKey, verifyIss, serviceID, apiToken string) {
		env := map[string]string{
			config.EnvGripURL: gripURL, config.EnvGripVerifyKey: verifyKey, config.EnvGripVerifyIss: verifyIss,
			config.EnvFastlyServiceID: serviceID, config.EnvFastlyAPIToken: apiToken,
		}
		get := func(k string) string { return env[k] }
		leaks := func(err error) bool { return err != nil && strings.Contains(err.Error(), "SECRETTOKEN") }
		if _, err := PublishConfigFromEnv(get); leaks(err) {
			t.Fatalf("publish config error repeats a secret: %v", err)
		}
		vc, err := VerifierConfigFromEnv(get)
		if leaks(err) {
			t.Fatalf("verifier config error repeats a secret: %v", err)
		}
		if err != nil {
			return
		}
		if _, err := NewVerifier(vc); leaks(err) {
			t.Fatalf("verifier error repeats a secret: %v", err)
		}
	})
}
