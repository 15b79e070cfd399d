// Package edge is a local stand-in for the passwordless-demo edge that sits
// in front of the chat in production. It is for local use only: it has no
// passkeys and trusts whatever name a visitor types. Production identity
// comes from the real edge.
//
// What it does, as that edge does: "/" without an identity cookie answers a
// sign-in page (here a name prompt) and, once signed in, redirects to the
// default room; requests to /room/* from a signed-in visitor get x-user,
// x-api-key and x-utc-offset set from the cookie and configuration,
// overwriting whatever the client sent; every other request, and any request
// without the cookie (a script sending its own x-api-key and x-user), passes
// through untouched.
//
// Content coding passes through as at the real edge: NewProxy, the proxy to
// the API, gives the origin the client's Accept-Encoding (or none) and the
// client the origin's Content-Encoding, body and ETag. (Locally Pushpin sits
// in front and cannot pass a compressed body on; tools/stack deals
// with that.)
package edge

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// Names of the cookies and paths of the stand-in.
const (
	// UserCookie holds the signed-in visitor's name.
	UserCookie = "chat_user"
	// OffsetCookie optionally holds the visitor's UTC offset (e.g. "+01:00"
	// or "-300"), sent on as x-utc-offset.
	OffsetCookie = "chat_utc_offset"
	// SignInPath receives the name prompt's form POST.
	SignInPath = "/_edge/signin"
	// SignOutPath clears the identity cookie.
	SignOutPath = "/_edge/signout"
)

// MaxNameLen is the longest accepted name, the API's x-user limit.
const MaxNameLen = chat.MaxUserLen

var offsetPattern = regexp.MustCompile(`^(?:[+-]?\d{1,4}|[+-]\d{2}:\d{2})$`)

// Config configures the stand-in.
type Config struct {
	// APIKey is sent as x-api-key (the first of API_KEYS).
	APIKey string
	// DefaultRoom is the slug a visitor is sent to after signing in; empty
	// sends them to "/" (which the web function redirects).
	DefaultRoom string
	// Logger receives one line per sign-in and sign-out; nil discards.
	Logger *slog.Logger
}

// Edge is the stand-in as an http.Handler in front of next.
type Edge struct {
	cfg  Config
	next http.Handler
	log  *slog.Logger
}

// New returns the stand-in in front of next (usually a reverse proxy to the
// API). It fails without an API key.
func New(cfg Config, next http.Handler) (*Edge, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("edge: an API key is required")
	}
	if next == nil {
		return nil, errors.New("edge: no next handler")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Edge{cfg: cfg, next: next, log: log}, nil
}

// ServeHTTP applies the edge's rules and hands the request on.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, signedIn := identity(r)
	switch {
	case r.URL.Path == SignInPath:
		e.signIn(w, r)
		return
	case r.URL.Path == SignOutPath:
		e.signOut(w, r)
		return
	case r.URL.Path == "/" && !signedIn:
		e.prompt(w, r, http.StatusOK, "")
		return
	case signedIn && (r.URL.Path == "/room" || strings.HasPrefix(r.URL.Path, "/room/")):
		r = r.Clone(r.Context())
		r.Header.Set("X-User", user)
		r.Header.Set("X-Api-Key", e.cfg.APIKey)
		r.Header.Set("X-Utc-Offset", utcOffset(r))
	}
	e.next.ServeHTTP(w, r)
}

// identity returns the visitor's name from a valid identity cookie.
func identity(r *http.Request) (string, bool) {
	c, err := r.Cookie(UserCookie)
	if err != nil {
		return "", false
	}
	name, err := url.QueryUnescape(c.Value)
	if err != nil || validName(name) != nil {
		return "", false
	}
	return name, true
}

// utcOffset returns the offset cookie when well-formed, else "0".
func utcOffset(r *http.Request) string {
	if c, err := r.Cookie(OffsetCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil && offsetPattern.MatchString(v) {
			return v
		}
	}
	return "0"
}

// validName checks a name as the API checks x-user (chat.NormalizeUser),
// so a name the prompt accepts is never one the API refuses.
func validName(name string) error {
	if name == "" || strings.TrimSpace(name) != name {
		return errors.New("edge: enter a name without leading or trailing spaces")
	}
	if _, err := chat.NormalizeUser(name); err != nil {
		return fmt.Errorf("edge: a name is 1 to %d characters, without commas or control or invisible characters", MaxNameLen)
	}
	return nil
}

func (e *Edge) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		e.prompt(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := validName(name); err != nil {
		e.prompt(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "edge: "))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     UserCookie,
		Value:    url.QueryEscape(name),
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	e.log.InfoContext(r.Context(), "signed in", "user", name)
	target := "/"
	if e.cfg.DefaultRoom != "" {
		target = "/room/" + url.PathEscape(e.cfg.DefaultRoom)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (e *Edge) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     UserCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	e.log.InfoContext(r.Context(), "signed out")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var promptPage = template.Must(template.New("prompt").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — local chat</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:15vh auto;padding:0 1rem;color:#222}
label{display:block;margin-bottom:.5rem;font-weight:600}
input{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin-bottom:1rem}
button{font:inherit;padding:.5rem 1.25rem}
.error{color:#b00020}
small{color:#666}
</style>
</head>
<body>
<main>
<h1>Local chat</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="name">Your name</label>
<input id="name" name="name" required maxlength="{{.Max}}" autocomplete="nickname" autofocus>
<button type="submit">Enter the chat</button>
</form>
<p><small>Local development stand-in for the sign-in edge: no password, no passkey. In production the passwordless-demo edge signs visitors in.</small></p>
</main>
</body>
</html>
`))

func (e *Edge) prompt(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := promptPage.Execute(w, struct {
		Error, Action string
		Max           int
	}{msg, SignInPath, MaxNameLen}); err != nil {
		e.log.ErrorContext(r.Context(), "render sign-in page", "err", err)
	}
}
