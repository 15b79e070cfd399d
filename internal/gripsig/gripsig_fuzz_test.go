package gripsig

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/internal/grip"
)

// FuzzVerify: any Grip-Sig value is either accepted or refused with one of
// the two documented errors, never a panic; a refused one stays refused
// with surrounding spaces.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	secret := []byte("pushpin-sig-key")
	v, err := NewVerifier(Config{Key: secret, Issuer: "pushpin", Now: func() time.Time { return now }})
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
		if _, err := grip.PublishConfigFromEnv(get); leaks(err) {
			t.Fatalf("publish config error repeats a secret: %v", err)
		}
		vc, err := ConfigFromEnv(get)
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
