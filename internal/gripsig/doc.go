// Package gripsig checks the Grip-Sig header a GRIP proxy signs every
// request it forwards with: an HS256 JWT keyed with a shared secret from
// Pushpin (sig_key), an ES256 JWT from Fastly Fanout, whose public key is
// FastlyPublicKey and whose issuer is "fastly:<service id>". Only the stream
// function links it (and with it golang-jwt/v5): a request without a valid
// Grip-Sig did not come through the proxy and must not get a hold.
//
// Verifier does the check; ConfigFromEnv reads its key and issuer from the
// GRIP variables (GRIP_VERIFY_KEY, GRIP_VERIFY_ISS, GRIP_URL's verify-key
// and verify-iss, FASTLY_SERVICE_ID). Building holds, GRIP_URL itself and
// publishing are package grip's.
package gripsig
