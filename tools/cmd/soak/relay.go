package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// relayFaults are the shares of publishes the relay mistreats, each in
// [0, 1], drawn independently per publish in this order: drop, delay,
// duplicate, reorder.
type relayFaults struct {
	Drop, Delay, Dup, Reorder float64
}

// relay stands between the send function (its GRIP_URL) and Pushpin's
// publish port, as an unreliable network to the proxy would: it answers
// every publish as Pushpin does ("Published"), then drops a share of them,
// delivers a share late (0.2–3 s), delivers a share twice, and holds a
// share back until the next publish of its channel has gone (or 2 s).
type relay struct {
	faults relayFaults
	target string // Pushpin's publish URL
	client *http.Client
	srv    *http.Server
	addr   string
	wg     sync.WaitGroup // deliveries in the background

	mu   sync.Mutex
	held map[string][]byte // channel → a publish held back for reordering

	publishes, dropped, delayed, duplicated, reordered, forwardErrs atomic.Int64
}

// startRelay listens on a free 127.0.0.1 port.
func startRelay(f relayFaults) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{
		faults: f,
		client: &http.Client{Timeout: 10 * time.Second},
		addr:   ln.Addr().String(),
		held:   map[string][]byte{},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is the relay's base URL: the send function's GRIP_URL.
func (r *relay) URL() string { return "http://" + r.addr }

// close stops the relay once the background deliveries are done.
func (r *relay) close() {
	_ = r.srv.Close()
	r.wg.Wait()
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.publishes.Add(1)
	channel := publishChannel(body)
	roll := rand.Float64()
	f := r.faults
	switch {
	case roll < f.Drop:
		r.dropped.Add(1)
	case roll < f.Drop+f.Delay:
		r.delayed.Add(1)
		r.later(body, time.Duration(200+rand.IntN(2800))*time.Millisecond)
	case roll < f.Drop+f.Delay+f.Dup:
		r.duplicated.Add(1)
		r.forward(req.Context(), body)
		r.later(body, time.Duration(100+rand.IntN(900))*time.Millisecond)
	case roll < f.Drop+f.Delay+f.Dup+f.Reorder && channel != "":
		r.reordered.Add(1)
		r.mu.Lock()
		prev := r.held[channel]
		r.held[channel] = body
		r.mu.Unlock()
		if prev != nil {
			r.forward(req.Context(), prev)
		}
		// Released by the channel's next publish, or after 2 s.
		r.wg.Add(1)
		time.AfterFunc(2*time.Second, func() {
			defer r.wg.Done()
			r.mu.Lock()
			still := bytes.Equal(r.held[channel], body)
			if still {
				delete(r.held, channel)
			}
			r.mu.Unlock()
			if still {
				r.forward(context.Background(), body)
			}
		})
	default:
		// Before it, a publish held back for reordering.
		r.mu.Lock()
		prev := r.held[channel]
		delete(r.held, channel)
		r.mu.Unlock()
		r.forward(req.Context(), body)
		if prev != nil {
			r.forward(req.Context(), prev)
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "Published\n")
}

// later forwards body after d, in the background.
func (r *relay) later(body []byte, d time.Duration) {
	r.wg.Add(1)
	time.AfterFunc(d, func() {
		defer r.wg.Done()
		r.forward(context.Background(), body)
	})
}

// forward publishes body to Pushpin; a failure (Pushpin down) is a lost
// publish, counted.
func (r *relay) forward(ctx context.Context, body []byte) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, r.target+"/publish/", bytes.NewReader(body))
	if err != nil {
		r.forwardErrs.Add(1)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		r.forwardErrs.Add(1)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.forwardErrs.Add(1)
	}
}

// publishChannel returns the channel of a publish's first item.
func publishChannel(body []byte) string {
	var pb struct {
		Items []struct {
			Channel string `json:"channel"`
		} `json:"items"`
	}
	if json.Unmarshal(body, &pb) != nil || len(pb.Items) == 0 {
		return ""
	}
	return pb.Items[0].Channel
}
