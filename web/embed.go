// Package web holds the browser front end of the chat: the static assets
// (plain ES modules, CSS, icons; no build step) and the HTML templates of the
// pages, embedded into the binary of the web function with go:embed.
package web

import (
	"embed"
	"fmt"
	"io/fs"
)

// files holds static/ (served at the site root) and templates/ (parsed by
// internal/webui).
//
//go:embed static templates
var files embed.FS

// Static returns the static assets, served at the site root: static/app.js
// is "app.js".
func Static() (fs.FS, error) { return sub("static") }

// Templates returns the HTML page templates.
func Templates() (fs.FS, error) { return sub("templates") }

func sub(dir string) (fs.FS, error) {
	f, err := fs.Sub(files, dir)
	if err != nil {
		return nil, fmt.Errorf("web: open embedded %s: %w", dir, err)
	}
	return f, nil
}
