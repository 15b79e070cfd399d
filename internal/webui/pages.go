package webui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// roomData is what the room page template sees.
type roomData struct {
	Room      chat.Room
	Rooms     []chat.Room
	User      string // "" for a guest: the page is read-only
	SignInURL string
	MaxLen    int
}

// notFoundData is what the 404 page template sees.
type notFoundData struct {
	Slug  string // the unknown room, if the path named one
	Rooms []chat.Room
}

// pages holds the parsed page templates.
type pages struct {
	room     *template.Template
	notFound *template.Template
}

// loadPages parses the templates of fsys with the asset URL functions and
// renders each once, so a template error fails New instead of a request.
func loadPages(fsys fs.FS, assets *assetSet, rooms *chat.Rooms) (*pages, error) {
	funcs := template.FuncMap{
		"asset":   assets.url,
		"modules": func() []string { return assets.modules },
	}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, name, "head.html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		return t, nil
	}
	room, err := parse("room.html")
	if err != nil {
		return nil, err
	}
	notFound, err := parse("notfound.html")
	if err != nil {
		return nil, err
	}
	p := &pages{room: room, notFound: notFound}
	checks := []struct {
		t    *template.Template
		data any
	}{
		{room, roomData{Room: rooms.Default(), Rooms: rooms.All(), User: "check", SignInURL: "/", MaxLen: chat.MaxTextLen}},
		{room, roomData{Room: rooms.Default(), Rooms: rooms.All(), SignInURL: "/", MaxLen: chat.MaxTextLen}},
		{notFound, notFoundData{Slug: "check", Rooms: rooms.All()}},
	}
	for _, c := range checks {
		if _, err := render(c.t, c.data); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// render executes t into memory, so a failure can still become a 500.
func render(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return buf.Bytes(), nil
}

func (p *pages) renderRoom(w http.ResponseWriter, r *http.Request, log *slog.Logger, d roomData) {
	writePage(w, r, log, p.room, d, http.StatusOK)
}

func (p *pages) renderNotFound(w http.ResponseWriter, r *http.Request, log *slog.Logger, d notFoundData) {
	writePage(w, r, log, p.notFound, d, http.StatusNotFound)
}

// writePage renders a page. Pages carry the viewer's name, so no cache may
// keep them.
func writePage(w http.ResponseWriter, r *http.Request, log *slog.Logger, t *template.Template, data any, status int) {
	body, err := render(t, data)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if err != nil {
		log.ErrorContext(r.Context(), "render page", slog.String("path", r.URL.Path), slog.Any("error", err))
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
