package webui

import "io/fs"

// WithAssets is withAssets for the package's external tests.
func WithAssets(fsys fs.FS) Option { return withAssets(fsys) }
