package handler

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Auth holds the keys the send function accepts.
type Auth struct {
	// APIKeys are accepted in x-api-key on the user routes (API_KEYS).
	APIKeys []string
	// AdminKey is the only key the admin routes accept (ADMIN_KEY); empty
	// refuses every admin request.
	AdminKey string
}

// HeaderValue returns a request header as the client sent it.
// aws-lambda-go-api-proxy splits every header but a few singletons on
// commas (and trims the parts), so a value with a comma arrives as several
// values; joining them with ", " gives the original back for the usual
// "a, b" spelling. A plain net/http server leaves it as one value, which the
// join keeps as it is.
func HeaderValue(r *http.Request, name string) string {
	return strings.Join(r.Header.Values(name), ", ")
}

// checkKey returns nil when the request's x-api-key is one of keys,
// errMissingAPIKey when it has none and errInvalidAPIKey otherwise. Keys are
// compared as SHA-256 digests in constant time, against every key without
// stopping early, so neither the time nor the length of a key leaks.
func checkKey(r *http.Request, keys ...string) error {
	got := HeaderValue(r, "X-Api-Key")
	if got == "" {
		return errMissingAPIKey
	}
	gotSum := sha256.Sum256([]byte(got))
	match := 0
	for _, k := range keys {
		if k == "" {
			continue
		}
		want := sha256.Sum256([]byte(k))
		match |= subtle.ConstantTimeCompare(gotSum[:], want[:])
	}
	if match != 1 {
		return errInvalidAPIKey
	}
	return nil
}

// user returns x-user, or errMissingUser. Its validity (length, characters)
// is the domain's to judge.
func user(r *http.Request) (string, error) {
	u := HeaderValue(r, "X-User")
	if strings.TrimSpace(u) == "" {
		return "", errMissingUser
	}
	return u, nil
}
