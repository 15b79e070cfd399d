package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/dynamo"
	"github.com/fanout-chat/serverless-chat/internal/edge"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/httpapi"
	"github.com/fanout-chat/serverless-chat/internal/localstack"
	"github.com/fanout-chat/serverless-chat/internal/webui"
)

// Configuration of the test stack. Each test uses its own room, so tests
// never see each other's messages.
const (
	testRooms = "live:Live chat,history:History,deletes:Deletes,reconnect:Reconnect," +
		"xss:XSS,guests:Guests,retry:Retry,design:Design Review,composer:Composer"
	testAPIKey = "e2e-api-key"
	testSigKey = "e2e-grip-signing-key"
	testTable  = "chat-e2e"
)

// stack is the local stack the browser talks to:
//
//	browser → edge stand-in → faults → Pushpin → origin (web, history, send, stream)
//	                                                  ↓ publish        ↓
//	                                               Pushpin       DynamoDB Local
type stack struct {
	// URL is the edge's base URL, what the browser opens.
	URL string
	// faults lets a test break the path from the edge to Pushpin.
	faults *faults

	origin    *httptest.Server
	front     *httptest.Server
	dynamo    *localstack.DynamoDB
	mu        sync.Mutex
	pushpin   *localstack.Pushpin
	pushpinCf localstack.PushpinConfig
	logs      *lockedBuffer
}

// lockedBuffer collects the output of the stack's processes and handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStack starts DynamoDB Local, the origin handlers, Pushpin and the
// edge stand-in, all on 127.0.0.1 and free ports.
func startStack(ctx context.Context) (s *stack, err error) {
	s = &stack{logs: &lockedBuffer{}}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	s.dynamo, err = localstack.StartDynamoDB(ctx, localstack.DynamoConfig{Log: s.logs})
	if err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.dynamo.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	if err := dynamo.EnsureTable(ctx, client, testTable, true); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	store, err := dynamo.New(client, testTable, dynamo.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		return nil, fmt.Errorf("parse rooms: %w", err)
	}

	// The origin listens first, so Pushpin can be pointed at it; its
	// publisher needs Pushpin's publish port, so the handlers are set once
	// Pushpin runs.
	var originHandler atomic.Pointer[http.Handler]
	s.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := originHandler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	ppDir, err := os.MkdirTemp("", "e2epp")
	if err != nil {
		return nil, fmt.Errorf("pushpin dir: %w", err)
	}
	s.pushpin, err = localstack.StartPushpin(ctx, localstack.PushpinConfig{
		Origin: s.origin.Listener.Addr().String(),
		SigKey: testSigKey,
		Dir:    ppDir,
		Log:    s.logs,
	})
	if err != nil {
		_ = os.RemoveAll(ppDir)
		return nil, fmt.Errorf("start pushpin: %w", err)
	}
	s.pushpinCf = s.pushpin.Config()

	pub, err := grip.NewPublisher(grip.PublishConfig{ControlURI: s.pushpin.PublishURL()}, grip.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	svc, err := chat.NewService(store, pub, rooms, chat.WithLogger(logger), chat.WithPublishTimeout(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("new service: %w", err)
	}
	verifier, err := grip.NewVerifier(grip.VerifierConfig{Key: []byte(testSigKey), Issuer: "pushpin"})
	if err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	web, err := webui.New(rooms, webui.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("new web handler: %w", err)
	}
	mux := http.NewServeMux()
	mount := func(routes []httpapi.Route, h http.Handler) {
		for _, r := range routes {
			mux.Handle(r.Pattern(), h)
		}
	}
	mount(httpapi.HistoryRoutes(), httpapi.NewHistoryHandler(svc, httpapi.WithLogger(logger)))
	mount(httpapi.SendRoutes(), httpapi.NewSendHandler(svc, httpapi.Auth{APIKeys: []string{testAPIKey}}, httpapi.WithLogger(logger)))
	mount(httpapi.StreamRoutes(), httpapi.NewStreamHandler(svc, verifier,
		httpapi.StreamOptions{LinkTimeout: 30 * time.Second, KeepAlive: 20 * time.Second}, httpapi.WithLogger(logger)))
	mux.Handle("/", web)
	var h http.Handler = mux
	originHandler.Store(&h)

	ppURL, err := url.Parse(s.pushpin.URL())
	if err != nil {
		return nil, fmt.Errorf("pushpin URL: %w", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(ppURL)
	proxy.FlushInterval = -1 // SSE
	proxy.ErrorLog = nil
	s.faults = &faults{next: proxy}
	proxy.ModifyResponse = s.faults.modifyResponse
	ed, err := edge.New(edge.Config{APIKey: testAPIKey, Logger: logger}, s.faults)
	if err != nil {
		return nil, fmt.Errorf("new edge: %w", err)
	}
	s.front = httptest.NewServer(ed)
	s.URL = s.front.URL
	return s, nil
}

// stopPushpin stops Pushpin, dropping every held stream, until startPushpin.
func (s *stack) stopPushpin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pushpin == nil {
		return errors.New("pushpin is not running")
	}
	err := s.pushpin.Stop()
	s.pushpin = nil
	return err
}

// startPushpin starts Pushpin again on the same ports and directory.
func (s *stack) startPushpin(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pushpin != nil {
		return errors.New("pushpin is running")
	}
	p, err := localstack.StartPushpin(ctx, s.pushpinCf)
	if err != nil {
		return fmt.Errorf("restart pushpin: %w", err)
	}
	s.pushpin = p
	return nil
}

// stop stops everything that startStack started, by pid.
func (s *stack) stop() {
	if s.front != nil {
		s.front.CloseClientConnections()
		s.front.Close()
	}
	s.mu.Lock()
	if s.pushpin != nil {
		_ = s.pushpin.Stop()
		s.pushpin = nil
	}
	s.mu.Unlock()
	if s.pushpinCf.Dir != "" {
		_ = os.RemoveAll(s.pushpinCf.Dir)
	}
	if s.origin != nil {
		s.origin.CloseClientConnections()
		s.origin.Close()
	}
	if s.dynamo != nil {
		_ = s.dynamo.Stop()
	}
}

// message is the message JSON of the API.
type message struct {
	ID       int64  `json:"id"`
	Room     string `json:"room"`
	User     string `json:"user"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
	ClientID string `json:"clientId"`
}

// api calls the origin directly (not through Pushpin), as another client
// would: it keeps working while Pushpin is down.
func (s *stack) api(ctx context.Context, method, path, user string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.origin.URL+path, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", testAPIKey)
	if user != "" {
		req.Header.Set("X-User", user)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, res.StatusCode, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return b, res.StatusCode, nil
}

// send posts a message as user straight to the origin.
func (s *stack) send(ctx context.Context, room, user, text string) (message, error) {
	b, status, err := s.api(ctx, http.MethodPost, "/room/"+room+"/messages", user, map[string]string{"text": text})
	if err != nil {
		return message{}, err
	}
	if status != http.StatusCreated {
		return message{}, fmt.Errorf("send to %s: status %d: %s", room, status, b)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}

// faults sits between the edge and Pushpin and can break the answers to
// message posts, as a flaky network would.
type faults struct {
	next http.Handler
	// loseSendAnswers makes the answer of each POST of a message a 502
	// after the origin handled it: the message is stored, the browser
	// never learns it.
	loseSendAnswers atomic.Bool

	mu    sync.Mutex
	posts []string // clientIds of the message posts seen, in order
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		var in struct {
			ClientID string `json:"clientId"`
		}
		_ = json.Unmarshal(b, &in)
		f.mu.Lock()
		f.posts = append(f.posts, in.ClientID)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	f.next.ServeHTTP(w, r)
}

func (f *faults) modifyResponse(res *http.Response) error {
	if res.Request.Method == http.MethodPost && f.loseSendAnswers.Load() {
		_, _ = io.Copy(io.Discard, res.Body)
		return errors.New("e2e: answer lost on purpose")
	}
	return nil
}

// postedClientIDs returns the clientIds of the message posts so far.
func (f *faults) postedClientIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.posts...)
}
