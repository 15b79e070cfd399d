// Package webui is the handler of the web function: the room pages, the
// redirect from the site root to the default room, a friendly 404 page, and
// the static front end embedded from web/ with fingerprinted URLs, ETags,
// precomputed gzip and a strict Content-Security-Policy.
package webui

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/web"
)

// EnvSignInURL is the environment variable, read by NewFromEnv, naming where
// the read-only page sends guests to sign in; empty means "/", which the
// passwordless-demo edge answers with its login page. The rooms come from
// ROOMS through internal/config.
const EnvSignInURL = "SIGN_IN_URL"

// CSP is the Content-Security-Policy of every response: scripts, styles and
// connections (fetch, EventSource) only from the site itself, no inline
// script or style, no plugins, no framing.
const CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Option configures the handler built by New.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	assets    fs.FS
	signInURL string
}

// WithLogger sets the logger for failures; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// withAssets serves the static files of fsys instead of the embedded web/
// assets; the page still needs app.js, style.css and favicon.svg. Only
// tests use it (export_test.go).
func withAssets(fsys fs.FS) Option {
	return func(o *options) { o.assets = fsys }
}

// WithSignInURL sets the link the read-only page offers guests. The default
// is "/".
func WithSignInURL(u string) Option {
	return func(o *options) {
		if u != "" {
			o.signInURL = u
		}
	}
}

// handler serves the pages and assets.
type handler struct {
	rooms     *chat.Rooms
	log       *slog.Logger
	signInURL string
	assets    *assetSet
	pages     *pages
	mux       *http.ServeMux
}

// New returns the handler of the web function for rooms. Everything that can
// be computed once (asset fingerprints, gzip bodies, templates) is computed
// here, so a broken asset or template fails the cold start, not a request.
func New(rooms *chat.Rooms, opts ...Option) (http.Handler, error) {
	if rooms == nil {
		return nil, errors.New("webui: no rooms")
	}
	o := options{logger: slog.Default(), signInURL: "/"}
	for _, opt := range opts {
		opt(&o)
	}
	if u, err := url.Parse(o.signInURL); err != nil || (u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("webui: sign-in URL %q must be a path or an http(s) URL", o.signInURL)
	}
	if o.assets == nil {
		static, err := web.Static()
		if err != nil {
			return nil, fmt.Errorf("webui: %w", err)
		}
		o.assets = static
	}
	assets, err := loadAssets(o.assets)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	tmpl, err := web.Templates()
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	pg, err := loadPages(tmpl, assets, rooms)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	h := &handler{
		rooms:     rooms,
		log:       o.logger,
		signInURL: o.signInURL,
		assets:    assets,
		pages:     pg,
		mux:       http.NewServeMux(),
	}
	// GET patterns also match HEAD.
	h.mux.HandleFunc("GET /{$}", h.root)
	h.mux.HandleFunc("GET /room/{room}", h.room)
	h.mux.HandleFunc("GET /{asset}", h.asset)
	h.mux.HandleFunc("/", h.notFound)
	return h, nil
}

// NewFromEnv builds the handler from the environment, read through getenv
// (os.Getenv in the function, a map in tests and the local API emulator), so
// every caller serves the identical site.
func NewFromEnv(getenv func(string) string, opts ...Option) (http.Handler, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	opts = append([]Option{WithSignInURL(strings.TrimSpace(getenv(EnvSignInURL)))}, opts...)
	return New(cfg.Rooms, opts...)
}

// ServeHTTP sets the security headers every answer carries and routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// root sends the site root to the default room, like the original app.
func (h *handler) root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/room/"+h.rooms.Default().Slug, http.StatusFound)
}

// room renders the page of one room for the user the edge named in x-user.
func (h *handler) room(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("room")
	room, err := h.rooms.Lookup(slug)
	if err != nil {
		h.renderNotFound(w, r, slug)
		return
	}
	h.pages.renderRoom(w, r, h.log, roomData{
		Room:      room,
		Rooms:     h.rooms.All(),
		User:      userOf(r),
		SignInURL: h.signInURL,
		MaxLen:    chat.MaxTextLen,
	})
}

// asset serves one static file by plain or fingerprinted name.
func (h *handler) asset(w http.ResponseWriter, r *http.Request) {
	if !h.assets.serve(w, r, r.PathValue("asset")) {
		h.renderNotFound(w, r, "")
	}
}

// notFound answers every other path and method.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.renderNotFound(w, r, "")
}

func (h *handler) renderNotFound(w http.ResponseWriter, r *http.Request, slug string) {
	h.pages.renderNotFound(w, r, h.log, notFoundData{Slug: slug, Rooms: h.rooms.All()})
}

// userOf returns the viewer named by the edge in x-user, or "" for a guest.
// The Lambda adapter splits header values at commas, so the parts are joined
// back as internal/handler does. A name the API would refuse makes the page
// read-only, since that viewer could not post anyway.
func userOf(r *http.Request) string {
	u, err := chat.NormalizeUser(strings.Join(r.Header.Values("X-User"), ", "))
	if err != nil {
		return ""
	}
	return u
}
