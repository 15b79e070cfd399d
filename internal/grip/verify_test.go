package grip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func pemPublicKey(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatalf("generate EC key: %v", err)
	}
	return k
}

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", m.Alg(), err)
	}
	return s
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("pushpin-sig-key")
	es := ecKey(t, elliptic.P256())
	esPEM := pemPublicKey(t, &es.PublicKey)
	other := ecKey(t, elliptic.P256())
	p384 := ecKey(t, elliptic.P384())
	// Tokens are judged at a fixed instant, not the wall clock: a machine
	// stalled between signing and verifying must not expire them.
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	valid := func(iss string) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "exp": now.Add(time.Hour).Unix()}
	}
	none := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatalf("sign none token: %v", err)
		}
		return s
	}

	hsVerifier, err := NewVerifier(VerifierConfig{Key: secret, Issuer: "pushpin", Now: clock})
	if err != nil {
		t.Fatalf("NewVerifier HS256: %v", err)
	}
	esVerifier, err := NewVerifier(VerifierConfig{Key: esPEM, Issuer: "fastly:svc", Now: clock})
	if err != nil {
		t.Fatalf("NewVerifier ES256: %v", err)
	}
	anyIss, err := NewVerifier(VerifierConfig{Key: secret, Now: clock})
	if err != nil {
		t.Fatalf("NewVerifier without issuer: %v", err)
	}

	tests := []struct {
		name    string
		v       *Verifier
		token   string
		wantErr error
	}{
		{"hs256 valid", hsVerifier, sign(t, jwt.SigningMethodHS256, secret, valid("pushpin")), nil},
		{"hs256 expired within leeway", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"iss": "pushpin", "exp": now.Add(-2 * time.Second).Unix()}), nil},
		{"hs256 expired beyond leeway", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"iss": "pushpin", "exp": now.Add(-DefaultLeeway - time.Second).Unix()}), ErrInvalidSignature},
		{"hs256 expired", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"iss": "pushpin", "exp": now.Add(-time.Minute).Unix()}), ErrInvalidSignature},
		{"hs256 without exp", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"iss": "pushpin"}), ErrInvalidSignature},
		{"hs256 not yet valid", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"iss": "pushpin", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()}), ErrInvalidSignature},
		{"hs256 wrong iss", hsVerifier, sign(t, jwt.SigningMethodHS256, secret, valid("evil")), ErrInvalidSignature},
		{"hs256 missing iss", hsVerifier, sign(t, jwt.SigningMethodHS256, secret,
			jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}), ErrInvalidSignature},
		{"hs256 forged with other secret", hsVerifier, sign(t, jwt.SigningMethodHS256, []byte("guess"), valid("pushpin")), ErrInvalidSignature},
		{"hs512 with the right secret", hsVerifier, sign(t, jwt.SigningMethodHS512, secret, valid("pushpin")), ErrInvalidSignature},
		{"alg none on hs verifier", hsVerifier, none(valid("pushpin")), ErrInvalidSignature},
		{"es256 token on hs verifier", hsVerifier, sign(t, jwt.SigningMethodES256, es, valid("pushpin")), ErrInvalidSignature},
		{"any iss accepted without issuer", anyIss, sign(t, jwt.SigningMethodHS256, secret, valid("whoever")), nil},
		{"es256 valid", esVerifier, sign(t, jwt.SigningMethodES256, es, valid("fastly:svc")), nil},
		{"es256 expired", esVerifier, sign(t, jwt.SigningMethodES256, es,
			jwt.MapClaims{"iss": "fastly:svc", "exp": now.Add(-time.Hour).Unix()}), ErrInvalidSignature},
		{"es256 wrong iss", esVerifier, sign(t, jwt.SigningMethodES256, es, valid("fastly:other")), ErrInvalidSignature},
		{"es256 signed by another key", esVerifier, sign(t, jwt.SigningMethodES256, other, valid("fastly:svc")), ErrInvalidSignature},
		{"es384 on p-256 verifier", esVerifier, sign(t, jwt.SigningMethodES384, p384, valid("fastly:svc")), ErrInvalidSignature},
		{"alg confusion hs256 keyed with public PEM", esVerifier, sign(t, jwt.SigningMethodHS256, esPEM, valid("fastly:svc")), ErrInvalidSignature},
		{"alg none on es verifier", esVerifier, none(valid("fastly:svc")), ErrInvalidSignature},
		{"garbage", hsVerifier, "not.a.jwt", ErrInvalidSignature},
		{"tampered payload", hsVerifier, tamper(sign(t, jwt.SigningMethodHS256, secret, valid("pushpin"))), ErrInvalidSignature},
		{"empty", hsVerifier, "", ErrNoSignature},
		{"blank", hsVerifier, "  ", ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.v.Verify(tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// tamper swaps the payload of a JWT for one claiming another issuer, keeping
// the original signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"pushpin","exp":9999999999,"admin":true}`))
	return strings.Join(parts, ".")
}

func TestNewVerifierKeys(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	fastly, err := ParseKey("base64:" + FastlyPublicKey)
	if err != nil {
		t.Fatalf("ParseKey(FastlyPublicKey): %v", err)
	}
	tests := []struct {
		name    string
		key     []byte
		wantErr bool
	}{
		{"shared secret", []byte("s3cret"), false},
		{"fastly public key", fastly, false},
		{"p-384 public key", pemPublicKey(t, &ecKey(t, elliptic.P384()).PublicKey), false},
		{"empty", nil, true},
		{"rsa public key", pemPublicKey(t, &rsaKey.PublicKey), true},
		{"broken PEM", []byte("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewVerifier(VerifierConfig{Key: tt.key})
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewVerifier: err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestFastlyKeyRefusesAlgConfusion(t *testing.T) {
	t.Parallel()
	key, err := ParseKey("base64:" + FastlyPublicKey)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	if !strings.HasPrefix(string(key), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("FastlyPublicKey does not decode to a PEM public key: %q", key)
	}
	v, err := NewVerifier(VerifierConfig{Key: key})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	forged := sign(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"iss": "fastly", "exp": time.Now().Add(time.Hour).Unix()})
	if err := v.Verify(forged); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify(HS256 keyed with Fastly's public key) = %v, want ErrInvalidSignature", err)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"raw", "changeme", "changeme", false},
		{"base64", "base64:" + base64.StdEncoding.EncodeToString([]byte("hello\x00key")), "hello\x00key", false},
		{"raw with colon", "fastly:abc", "fastly:abc", false},
		{"empty", "", "", true},
		{"empty base64", "base64:", "", true},
		{"bad base64", "base64:***", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKey(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseKey(%q): err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Fatalf("ParseKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVerifyLifetime(t *testing.T) {
	t.Parallel()
	secret := []byte("pushpin-sig-key")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	v, err := NewVerifier(VerifierConfig{Key: secret, Issuer: "pushpin", Now: clock})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	unlimited, err := NewVerifier(VerifierConfig{Key: secret, Issuer: "pushpin", Now: clock, MaxLifetime: -1})
	if err != nil {
		t.Fatalf("NewVerifier unlimited: %v", err)
	}
	claims := func(exp time.Duration, iat *time.Duration) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "pushpin", "exp": now.Add(exp).Unix()}
		if iat != nil {
			c["iat"] = now.Add(*iat).Unix()
		}
		return c
	}
	ago := func(d time.Duration) *time.Duration { d = -d; return &d }
	tests := []struct {
		name   string
		v      *Verifier
		claims jwt.MapClaims
		ok     bool
	}{
		{"pushpin's one hour", v, claims(time.Hour, nil), true},
		{"at the maximum", v, claims(DefaultMaxLifetime, nil), true},
		{"just over the maximum plus leeway", v, claims(DefaultMaxLifetime+DefaultLeeway+time.Second, nil), false},
		{"31 years ahead", v, claims(31*365*24*time.Hour, nil), false},
		{"iat and exp one hour apart", v, claims(30*time.Minute, ago(30*time.Minute)), true},
		{"iat long ago, exp soon", v, claims(time.Minute, ago(30*24*time.Hour)), false},
		{"check off", unlimited, claims(31*365*24*time.Hour, nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.v.Verify(sign(t, jwt.SigningMethodHS256, secret, tt.claims))
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify: %v, want ErrInvalidSignature", err)
			}
		})
	}
}
