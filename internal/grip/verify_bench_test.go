package grip_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/grip"
)

// BenchmarkVerify measures checking one Grip-Sig, which the stream function
// does on every request: HS256 with Pushpin's shared key (local) and ES256
// with an EC P-256 public key, as Fastly Fanout signs in production. A
// refused token (bad signature) costs about as much as a valid one.
func BenchmarkVerify(b *testing.B) {
	exp := time.Now().Add(time.Hour).Unix()
	secret := []byte("pushpin-sig-key")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatalf("generate EC key: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		b.Fatalf("marshal public key: %v", err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatalf("generate EC key: %v", err)
	}
	sign := func(m jwt.SigningMethod, key any, iss string) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims{"iss": iss, "exp": exp}).SignedString(key)
		if err != nil {
			b.Fatalf("sign %s: %v", m.Alg(), err)
		}
		return s
	}
	cases := []struct {
		name   string
		cfg    grip.VerifierConfig
		token  string
		wantOK bool
	}{
		{"HS256", grip.VerifierConfig{Key: secret, Issuer: "pushpin"}, sign(jwt.SigningMethodHS256, secret, "pushpin"), true},
		{"ES256", grip.VerifierConfig{Key: ecPEM, Issuer: "fastly:svc"}, sign(jwt.SigningMethodES256, ec, "fastly:svc"), true},
		{"HS256-refused", grip.VerifierConfig{Key: secret, Issuer: "pushpin"}, sign(jwt.SigningMethodHS256, []byte("other"), "pushpin"), false},
		{"ES256-refused", grip.VerifierConfig{Key: ecPEM, Issuer: "fastly:svc"}, sign(jwt.SigningMethodES256, other, "fastly:svc"), false},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			v, err := grip.NewVerifier(bc.cfg)
			if err != nil {
				b.Fatalf("new verifier: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(bc.token); (err == nil) != bc.wantOK {
					b.Fatalf("Verify = %v, want ok %v", err, bc.wantOK)
				}
			}
		})
	}
}
