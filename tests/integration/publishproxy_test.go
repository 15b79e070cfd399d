package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// publishProxy stands between the send function (its GRIP_URL) and
// Pushpin's publish port. It records the id of every item published on
// each channel and forwards the publish, except that it can be told to drop
// the next publish of one channel on purpose, answering the publisher as
// Pushpin would, so the send succeeds and the event is lost on its way to
// the proxy.
type publishProxy struct {
	srv    *http.Server
	addr   string
	done   chan struct{}
	client *http.Client

	mu        sync.Mutex
	target    string
	drop      map[string]int      // channel → publishes still to drop
	dropped   map[string][]string // channel → ids of the publishes dropped
	published map[string][]string // channel → ids of every publish, dropped or not
}

// publishBody is the part of a GRIP publish request the proxy looks at.
type publishBody struct {
	Items []struct {
		Channel string `json:"channel"`
		ID      string `json:"id"`
		PrevID  string `json:"prev-id"`
	} `json:"items"`
}

func startPublishProxy() (*publishProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("publish proxy: listen: %w", err)
	}
	p := &publishProxy{
		addr:      ln.Addr().String(),
		done:      make(chan struct{}),
		client:    &http.Client{Timeout: 10 * time.Second},
		drop:      map[string]int{},
		dropped:   map[string][]string{},
		published: map[string][]string{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "publish proxy: serve: %v\n", err)
		}
	}()
	return p, nil
}

// URL is the proxy's base URL, the send function's GRIP_URL.
func (p *publishProxy) URL() string { return "http://" + p.addr }

// SetTarget sets Pushpin's publish URL, known only once the stack is up.
func (p *publishProxy) SetTarget(u string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = u
}

// DropNext makes the proxy drop the next publish on channel.
func (p *publishProxy) DropNext(channel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop[channel]++
}

// Dropped returns the ids of the publishes dropped on channel.
func (p *publishProxy) Dropped(channel string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dropped[channel]...)
}

// Published returns the ids of every item published on channel, in the
// order the proxy received them, dropped ones included.
func (p *publishProxy) Published(channel string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.published[channel]...)
}

// Close stops the proxy.
func (p *publishProxy) Close() error {
	err := p.srv.Close()
	<-p.done
	return err
}

func (p *publishProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if p.record(body) {
		// What Pushpin answers a publish it accepted.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Published\n")
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == "" {
		http.Error(w, "publish proxy: no target yet", http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, "publish proxy: forward: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// record notes the ids of the publish's items and reports whether the
// publish must be dropped: as a whole, when any of its items is on a
// channel with drops pending (the chat publishes one item per request).
func (p *publishProxy) record(body []byte) (drop bool) {
	var pb publishBody
	if json.Unmarshal(body, &pb) != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range pb.Items {
		p.published[it.Channel] = append(p.published[it.Channel], it.ID)
		if !drop && p.drop[it.Channel] > 0 {
			p.drop[it.Channel]--
			p.dropped[it.Channel] = append(p.dropped[it.Channel], it.ID)
			drop = true
		}
	}
	return drop
}
