package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Cache lifetimes of assets. A fingerprinted URL names exactly one content,
// so browsers and CDNs may keep it for a year without asking again; a plain
// URL must be revalidated (cheaply, with its ETag) on every use.
const (
	cacheFingerprinted = "public, max-age=31536000, immutable"
	cachePlain         = "public, no-cache"
)

// hashLen is how many hex digits of the SHA-256 of an asset go into its
// fingerprinted name and ETag.
const hashLen = 12

// minGzipSize is the size under which gzip is not worth its framing.
const minGzipSize = 256

// importPattern finds the relative module specifiers of static imports,
// re-exports and dynamic imports in an ES module: `from './time.js'`,
// `import './x.js'`, `import('./x.js')`. Modules in web/static import each
// other only this way, so the fingerprinted names can be written in.
var importPattern = regexp.MustCompile(`(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([A-Za-z0-9_-]+\.js)(["'])`)

// asset is one embedded static file, ready to serve.
type asset struct {
	name        string // "app.js"
	hashedName  string // "app.0123456789ab.js"
	contentType string
	body        []byte
	gzipped     []byte // nil when gzip does not pay
	etag        string // strong ETag of body
	gzipETag    string // strong ETag of gzipped
}

// assetSet is every static asset, by plain and by fingerprinted name.
type assetSet struct {
	byPath  map[string]*asset // "app.js" and "app.0123456789ab.js"
	byName  map[string]*asset // "app.js"
	modules []string          // fingerprinted URLs of the JS modules, sorted
}

// loadAssets reads every file of fsys, writes the fingerprinted names of
// imported modules into the JS modules that import them, and precomputes
// hashes, ETags and gzip bodies once.
func loadAssets(fsys fs.FS) (*assetSet, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." {
				// Assets are served from the root by the "GET /{asset}"
				// route, so there are no folders.
				return fmt.Errorf("webui: asset folder %s: assets must sit at the root", p)
			}
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("webui: no static assets")
	}

	set := &assetSet{byPath: map[string]*asset{}, byName: map[string]*asset{}}
	visiting := map[string]bool{}
	var build func(name string) (*asset, error)
	build = func(name string) (*asset, error) {
		if a, ok := set.byName[name]; ok {
			return a, nil
		}
		body, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("webui: asset %s is imported but does not exist", name)
		}
		if visiting[name] {
			return nil, fmt.Errorf("webui: import cycle through %s", name)
		}
		visiting[name] = true
		defer delete(visiting, name)
		if path.Ext(name) == ".js" {
			// A module's fingerprint must change when any module it imports
			// changes, so dependencies are built (and renamed) first.
			var buildErr error
			body = importPattern.ReplaceAllFunc(body, func(m []byte) []byte {
				sub := importPattern.FindSubmatch(m)
				if string(sub[2]) != string(sub[4]) {
					return m
				}
				dep, err := build(string(sub[3]))
				if err != nil {
					buildErr = err
					return m
				}
				return []byte(string(sub[1]) + string(sub[2]) + "./" + dep.hashedName + string(sub[4]))
			})
			if buildErr != nil {
				return nil, fmt.Errorf("build module %s: %w", name, buildErr)
			}
		}
		a, err := newAsset(name, body)
		if err != nil {
			return nil, err
		}
		set.byName[name] = a
		set.byPath[name] = a
		set.byPath[a.hashedName] = a
		if path.Ext(name) == ".js" {
			set.modules = append(set.modules, "/"+a.hashedName)
		}
		return a, nil
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := build(name); err != nil {
			return nil, fmt.Errorf("load assets: %w", err)
		}
	}
	slices.Sort(set.modules)
	return set, nil
}

// newAsset fingerprints body and gzips it when that pays.
func newAsset(name string, body []byte) (*asset, error) {
	ext := path.Ext(name)
	ct := contentType(ext)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:hashLen]
	a := &asset{
		name:        name,
		hashedName:  strings.TrimSuffix(name, ext) + "." + hash + ext,
		contentType: ct,
		body:        body,
		etag:        strconv.Quote(hash),
		gzipETag:    strconv.Quote(hash + "-gz"),
	}
	if compressible(ct) && len(body) >= minGzipSize {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip asset %s: %w", name, err)
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip asset %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip asset %s: %w", name, err)
		}
		if buf.Len() < len(body) {
			a.gzipped = buf.Bytes()
		}
	}
	return a, nil
}

// contentType returns the Content-Type of a file extension. The common web
// types are fixed here so they do not depend on the host's mime tables.
func contentType(ext string) string {
	switch strings.ToLower(ext) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// compressible reports whether gzip is likely to shrink content of type ct.
func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "image/svg") ||
		strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/manifest")
}

// url returns the fingerprinted URL of the asset called name.
func (s *assetSet) url(name string) (string, error) {
	a, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("webui: no asset %q", name)
	}
	return "/" + a.hashedName, nil
}

// serve writes the asset at p ("app.js" or "app.0123456789ab.js"), or
// reports false when there is none.
func (s *assetSet) serve(w http.ResponseWriter, r *http.Request, p string) bool {
	a, ok := s.byPath[p]
	if !ok {
		return false
	}
	h := w.Header()
	if p == a.hashedName {
		h.Set("Cache-Control", cacheFingerprinted)
	} else {
		h.Set("Cache-Control", cachePlain)
	}
	body, etag := a.body, a.etag
	if a.gzipped != nil {
		// The answer depends on Accept-Encoding even when it is not gzipped.
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, etag = a.gzipped, a.gzipETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		// RFC 9110 15.4.5: a 304 carries the validators and caching fields
		// but neither body nor Content-Type/Length.
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return true
}

// acceptsGzip reports whether the Accept-Encoding field values allow gzip:
// "gzip" or "*" with a non-zero q (RFC 9110 12.5.3). The values may be split
// at commas already (as API Gateway headers are by the Lambda adapter).
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			switch coding {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// etagMatches reports whether an If-None-Match field lists etag, with the
// weak comparison RFC 9110 13.1.2 prescribes for it.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
