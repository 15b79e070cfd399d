package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// recordNext is the next handler: it answers with the identity headers it saw.
func recordNext() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-User", r.Header.Get("X-User"))
		w.Header().Set("Seen-Key", r.Header.Get("X-Api-Key"))
		w.Header().Set("Seen-Offset", r.Header.Get("X-Utc-Offset"))
		w.Header().Set("Seen-Grip-Sig", r.Header.Get("Grip-Sig"))
		_, _ = io.WriteString(w, "next")
	})
}

func newEdge(t *testing.T) *Edge {
	t.Helper()
	e, err := New(Config{APIKey: "local-key", DefaultRoom: "devops-bcn"}, recordNext())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEdgeHeaderRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		cookies    []*http.Cookie
		headers    map[string]string
		wantNext   bool
		wantUser   string
		wantKey    string
		wantOffset string
	}{
		{
			name:     "signed in room request gets identity headers",
			path:     "/room/devops-bcn/messages",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			wantNext: true, wantUser: "Ann", wantKey: "local-key", wantOffset: "0",
		},
		{
			name:     "cookie overwrites client-sent identity headers",
			method:   "POST",
			path:     "/room/devops-bcn/messages",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			headers:  map[string]string{"X-User": "Mallory", "X-Api-Key": "guess", "X-Utc-Offset": "999"},
			wantNext: true, wantUser: "Ann", wantKey: "local-key", wantOffset: "0",
		},
		{
			name:     "escaped name and offset cookie",
			path:     "/room/devops-bcn",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: url.QueryEscape("Zoë K")}, {Name: OffsetCookie, Value: url.QueryEscape("+01:00")}},
			wantNext: true, wantUser: "Zoë K", wantKey: "local-key", wantOffset: "+01:00",
		},
		{
			name:     "malformed offset cookie is 0",
			path:     "/room/devops-bcn",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}, {Name: OffsetCookie, Value: "1;DROP"}},
			wantNext: true, wantUser: "Ann", wantKey: "local-key", wantOffset: "0",
		},
		{
			name:     "script with its own headers and no cookie passes untouched",
			method:   "POST",
			path:     "/room/devops-bcn/messages",
			headers:  map[string]string{"X-User": "bot", "X-Api-Key": "k2", "X-Utc-Offset": "60"},
			wantNext: true, wantUser: "bot", wantKey: "k2", wantOffset: "60",
		},
		{
			name:     "no cookie, no headers: read-only pass-through",
			path:     "/room/devops-bcn/events",
			wantNext: true,
		},
		{
			name:     "outside /room/ nothing is added even when signed in",
			path:     "/rooms",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			wantNext: true,
		},
		{
			name:     "a path that only starts like room is not a room path",
			path:     "/roomy",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			wantNext: true,
		},
		{
			name:     "admin path with its own key passes untouched",
			method:   "DELETE",
			path:     "/admin/room/devops-bcn",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			headers:  map[string]string{"X-Api-Key": "admin"},
			wantNext: true, wantKey: "admin",
		},
		{
			name:     "invalid cookie name counts as signed out",
			path:     "/room/devops-bcn/messages",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: url.QueryEscape(strings.Repeat("x", 65))}},
			headers:  map[string]string{"X-User": "bot", "X-Api-Key": "k2"},
			wantNext: true, wantUser: "bot", wantKey: "k2",
		},
		{
			name:     "signed in root passes through",
			path:     "/",
			cookies:  []*http.Cookie{{Name: UserCookie, Value: "Ann"}},
			wantNext: true,
		},
		{
			name:     "signed out root is the prompt",
			path:     "/",
			wantNext: false,
		},
	}
	e := newEdge(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "http://localhost:7999"+tt.path, nil)
			for _, c := range tt.cookies {
				r.AddCookie(c)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set("Grip-Sig", "sig")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, r)
			gotNext := rec.Body.String() == "next"
			if gotNext != tt.wantNext {
				t.Fatalf("reached next = %v, want %v (status %d)", gotNext, tt.wantNext, rec.Code)
			}
			if !tt.wantNext {
				return
			}
			h := rec.Header()
			if h.Get("Seen-User") != tt.wantUser || h.Get("Seen-Key") != tt.wantKey || h.Get("Seen-Offset") != tt.wantOffset {
				t.Fatalf("next saw user %q key %q offset %q; want %q %q %q",
					h.Get("Seen-User"), h.Get("Seen-Key"), h.Get("Seen-Offset"), tt.wantUser, tt.wantKey, tt.wantOffset)
			}
			if h.Get("Seen-Grip-Sig") != "sig" {
				t.Fatal("Grip-Sig was not passed on")
			}
		})
	}
}

func TestEdgeSignInFlow(t *testing.T) {
	t.Parallel()
	e := newEdge(t)

	// The prompt.
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/_edge/signin"`) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("prompt: %d %q", rec.Code, rec.Body.String())
	}

	// Sign in.
	form := url.Values{"name": {"  Zoë K "}}
	r := httptest.NewRequest("POST", SignInPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/room/devops-bcn" {
		t.Fatalf("sign in: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != UserCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != "/" {
		t.Fatalf("cookie %+v", cookies)
	}

	// The cookie now identifies the visitor on /room/*.
	r = httptest.NewRequest("GET", "/room/devops-bcn", nil)
	r.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	if got := rec.Header().Get("Seen-User"); got != "Zoë K" {
		t.Fatalf("x-user = %q", got)
	}

	// Sign out clears it.
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("POST", SignOutPath, nil))
	out := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(out) != 1 || out[0].Name != UserCookie || out[0].MaxAge >= 0 {
		t.Fatalf("sign out: %d %+v", rec.Code, out)
	}
}

func TestEdgeSignInRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		body   string
		want   int
	}{
		{"empty name", "POST", "name=", http.StatusBadRequest},
		{"blank name", "POST", "name=%20%20", http.StatusBadRequest},
		{"too long", "POST", "name=" + strings.Repeat("a", 65), http.StatusBadRequest},
		{"control character", "POST", "name=a%07b", http.StatusBadRequest},
		{"GET is not a sign-in", "GET", "", http.StatusMethodNotAllowed},
	}
	e := newEdge(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, SignInPath, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, r)
			if rec.Code != tt.want || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("got %d with cookies %v, want %d and none", rec.Code, rec.Result().Cookies(), tt.want)
			}
		})
	}
}

func TestNewRequiresKey(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}, recordNext()); err == nil {
		t.Fatal("no error without an API key")
	}
}

func TestValidNameMatchesTheAPI(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Smith, John", "ana\u200b", "\u202eana", "a\tb"} {
		if err := validName(name); err == nil {
			t.Errorf("validName(%q) accepted a name the API refuses", name)
		}
	}
	for _, name := range []string{"ana", "José María", "李雷"} {
		if err := validName(name); err != nil {
			t.Errorf("validName(%q) = %v", name, err)
		}
	}
}
