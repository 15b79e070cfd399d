package grip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FastlyPublicKey is Fastly Fanout's published public key for Grip-Sig
// (ES256), in the "base64:" form the original app reads from GRIP_VERIFY_KEY,
// without the prefix. ParseKey("base64:" + FastlyPublicKey) yields its PEM.
const FastlyPublicKey = "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFQ0tvNUExZWJ5RmNubVZWOFNFNU9uKzhHODFKeQpCalN2Y3J4NFZMZXRXQ2p1REFtcHBUbzN4TS96ejc2M0NPVENnSGZwLzZsUGRDeVlqanFjK0dNN3N3PT0KLS0tLS1FTkQgUFVCTElDIEtFWS0tLS0t"

// DefaultLeeway is the clock skew tolerated on a Grip-Sig's exp when
// VerifierConfig.Leeway is zero.
const DefaultLeeway = 5 * time.Second

// DefaultMaxLifetime is the longest validity a Grip-Sig may claim when
// VerifierConfig.MaxLifetime is zero. Pushpin signs each request with exp =
// now + 1 h (proxyutil.cpp) and no iat; Fanout, built on the same code,
// signs the same way. A token valid for much longer was not minted for one
// request: a leaked one would open holds for years.
const DefaultMaxLifetime = 2 * time.Hour

// Errors of signature verification. Verify wraps them, so test with errors.Is.
var (
	// ErrNoSignature means the request carries no Grip-Sig: it did not come
	// through a GRIP proxy (the stream function answers 406).
	ErrNoSignature = errors.New("grip: no Grip-Sig")
	// ErrInvalidSignature means a Grip-Sig is present but is not a valid,
	// unexpired token from the configured proxy (the stream function answers
	// 501).
	ErrInvalidSignature = errors.New("grip: invalid Grip-Sig")
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Key is either the shared HS256 secret (Pushpin's sig_key) or a PEM
	// encoded EC public key (Fanout's, ES256). A value starting with
	// "-----BEGIN" is taken as PEM; see ParseKey for the "base64:" form.
	Key []byte
	// Issuer, when not empty, must equal the token's iss claim ("pushpin"
	// for Pushpin's default sig_iss, "fastly:<service id>" for Fanout).
	Issuer string
	// Leeway is the clock skew tolerated on exp; zero means DefaultLeeway.
	Leeway time.Duration
	// MaxLifetime is the longest validity accepted: exp − now, and exp −
	// iat when the token has an iat, must not exceed it (plus Leeway).
	// Zero means DefaultMaxLifetime; negative turns the check off.
	MaxLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier checks Grip-Sig headers. It is safe for concurrent use.
type Verifier struct {
	key         any
	parser      *jwt.Parser
	now         func() time.Time
	maxLifetime time.Duration
	leeway      time.Duration
}

// NewVerifier returns a Verifier for cfg. The key decides the only accepted
// algorithm: HS256 for a shared secret, ES256/ES384/ES512 for an EC public
// key on P-256/P-384/P-521. Accepting nothing else is what defeats alg
// confusion (an HS256 token keyed with the public key's bytes) and alg none.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Key) == 0 {
		return nil, errors.New("grip: verifier key is empty")
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	var (
		key any
		alg string
	)
	if block, _ := pem.Decode(cfg.Key); block != nil {
		pub, err := jwt.ParseECPublicKeyFromPEM(cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("grip: parse PEM verifier key (%s): %w", block.Type, err)
		}
		alg, err = ecAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		key = pub
	} else if strings.Contains(string(cfg.Key), "-----BEGIN") {
		return nil, errors.New("grip: verifier key looks like PEM but does not decode")
	} else {
		key = cfg.Key
		alg = jwt.SigningMethodHS256.Alg()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	maxLifetime := cfg.MaxLifetime
	if maxLifetime == 0 {
		maxLifetime = DefaultMaxLifetime
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	return &Verifier{key: key, parser: jwt.NewParser(opts...), now: now, maxLifetime: maxLifetime, leeway: leeway}, nil
}

// ecAlgorithm returns the JWS algorithm that belongs to the key's curve.
func ecAlgorithm(pub *ecdsa.PublicKey) (string, error) {
	switch pub.Curve {
	case elliptic.P256():
		return jwt.SigningMethodES256.Alg(), nil
	case elliptic.P384():
		return jwt.SigningMethodES384.Alg(), nil
	case elliptic.P521():
		return jwt.SigningMethodES512.Alg(), nil
	default:
		return "", fmt.Errorf("grip: unsupported EC curve %s", pub.Curve.Params().Name)
	}
}

// Verify checks token, the value of a request's Grip-Sig header. It returns
// nil for a valid token, an error wrapping ErrNoSignature for an empty one,
// and an error wrapping ErrInvalidSignature for anything else: bad signature,
// wrong algorithm, missing or past exp, wrong iss, malformed token.
func (v *Verifier) Verify(token string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return ErrNoSignature
	}
	tok, err := v.parser.Parse(token, func(*jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if err := v.checkLifetime(tok.Claims); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	return nil
}

// checkLifetime refuses a token whose validity is longer than maxLifetime:
// exp − now, and exp − iat when iat is present.
func (v *Verifier) checkLifetime(claims jwt.Claims) error {
	if v.maxLifetime < 0 {
		return nil
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return errors.New("grip: token has no exp")
	}
	limit := v.maxLifetime + v.leeway
	if left := exp.Sub(v.now()); left > limit {
		return fmt.Errorf("grip: token valid for another %s, longer than %s", left.Round(time.Second), v.maxLifetime)
	}
	iat, err := claims.GetIssuedAt()
	if err != nil {
		return fmt.Errorf("grip: token iat: %w", err)
	}
	if iat != nil {
		if life := exp.Sub(iat.Time); life > limit {
			return fmt.Errorf("grip: token lifetime %s is longer than %s", life.Round(time.Second), v.maxLifetime)
		}
	}
	return nil
}

// ParseKey decodes a key given in configuration: "base64:<standard base64>"
// (the original app's GRIP_VERIFY_KEY form, and js-grip's) is decoded, any
// other value is returned as its bytes. An empty value is an error.
func ParseKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("grip: key is empty")
	}
	b64, ok := strings.CutPrefix(s, "base64:")
	if !ok {
		return []byte(s), nil
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("grip: decode base64 key: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("grip: key is empty")
	}
	return key, nil
}
