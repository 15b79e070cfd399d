package grip

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// publishRequest is what a control endpoint received.
type publishRequest struct {
	path, auth string
	body       struct {
		Items []struct {
			Channel string `json:"channel"`
			ID      string `json:"id"`
			PrevID  string `json:"prev-id"`
			// Under "formats", as Fastly's publishing API requires.
			Formats struct {
				HTTPStream struct {
					Content    string `json:"content"`
					ContentBin string `json:"content-bin"`
				} `json:"http-stream"`
			} `json:"formats"`
			// Left empty: nothing may stand at the top level of the item.
			TopLevelHTTPStream *json.RawMessage `json:"http-stream"`
		} `json:"items"`
	}
}

// controlServer records publishes and answers them with status.
func controlServer(t *testing.T, status int) (*httptest.Server, <-chan publishRequest) {
	t.Helper()
	got := make(chan publishRequest, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pr publishRequest
		pr.path = r.URL.Path
		pr.auth = r.Header.Get("Authorization")
		b, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(b, &pr.body)
		}
		if err != nil {
			t.Errorf("read publish body %q: %v", b, err)
		}
		got <- pr
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer\n")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestPublish(t *testing.T) {
	t.Parallel()
	frame := []byte("id: 4\nevent: message\ndata: {\"text\":\"hi\"}\n\n")
	tests := []struct {
		name     string
		cfg      func(uri string) PublishConfig
		wantAuth func(t *testing.T, auth string)
	}{
		{
			name: "pushpin without auth",
			cfg:  func(uri string) PublishConfig { return PublishConfig{ControlURI: uri} },
			wantAuth: func(t *testing.T, auth string) {
				if auth != "" {
					t.Errorf("Authorization = %q, want none", auth)
				}
			},
		},
		{
			name: "bearer token",
			cfg:  func(uri string) PublishConfig { return PublishConfig{ControlURI: uri, Key: "fastly-token"} },
			wantAuth: func(t *testing.T, auth string) {
				if auth != "Bearer fastly-token" {
					t.Errorf("Authorization = %q, want Bearer fastly-token", auth)
				}
			},
		},
		{
			name: "jwt",
			cfg: func(uri string) PublishConfig {
				return PublishConfig{ControlURI: uri, Key: "realm-key", ControlIss: "realm"}
			},
			wantAuth: func(t *testing.T, auth string) {
				tok, ok := strings.CutPrefix(auth, "Bearer ")
				if !ok {
					t.Fatalf("Authorization = %q, want a Bearer JWT", auth)
				}
				claims := jwt.MapClaims{}
				if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte("realm-key"), nil },
					jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("realm")); err != nil {
					t.Errorf("publish JWT: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := controlServer(t, http.StatusOK)
			p, err := NewPublisher(tt.cfg(srv.URL))
			if err != nil {
				t.Fatalf("NewPublisher: %v", err)
			}
			if err := p.Publish(context.Background(), "room-lobby", "4", "3", frame); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			pr := <-got
			if pr.path != "/publish/" {
				t.Errorf("path = %q, want /publish/", pr.path)
			}
			tt.wantAuth(t, pr.auth)
			if len(pr.body.Items) != 1 {
				t.Fatalf("items = %+v, want one", pr.body.Items)
			}
			it := pr.body.Items[0]
			if it.Channel != "room-lobby" || it.ID != "4" || it.PrevID != "3" || it.Formats.HTTPStream.Content != string(frame) {
				t.Errorf("item = %+v, want channel room-lobby id 4 prev-id 3 formats.http-stream.content %q", it, frame)
			}
			if it.TopLevelHTTPStream != nil {
				t.Errorf("item has a top-level http-stream %s; Fastly wants it under formats", *it.TopLevelHTTPStream)
			}
		})
	}
}

func TestPublishFailure(t *testing.T) {
	t.Parallel()
	srv, _ := controlServer(t, http.StatusUnauthorized)
	p, err := NewPublisher(PublishConfig{ControlURI: srv.URL, Key: "wrong"})
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	err = p.Publish(context.Background(), "room-a", "1", "0", []byte("data: x\n\n"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "publish room-a id 1") {
		t.Fatalf("Publish = %v, want an error naming the item and status 401", err)
	}
}

func TestPublishBoundedByContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	// Cleanups run last-in first-out: unblock the handler, then close.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name    string
		opts    []Option
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{
			name: "caller deadline",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name:    "publisher timeout",
			opts:    []Option{withTimeout(100 * time.Millisecond)},
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "already canceled",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPublisher(PublishConfig{ControlURI: srv.URL}, tt.opts...)
			if err != nil {
				t.Fatalf("NewPublisher: %v", err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Publish(ctx, "room-a", "1", "0", []byte("data: x\n\n")) }()
			select {
			case err := <-done:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Publish = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Publish did not return at its deadline")
			}
		})
	}
}

func TestNewPublisherNeedsControlURI(t *testing.T) {
	t.Parallel()
	if _, err := NewPublisher(PublishConfig{Key: "k"}); err == nil {
		t.Fatal("NewPublisher without control URI: want an error")
	}
}
