package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/config"
	"github.com/fanout-chat/serverless-chat/tools/proc"
	"github.com/fanout-chat/serverless-chat/tools/stack"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// Configuration of the test stack. Each test uses its own room, so tests
// never see each other's messages.
const (
	// testRooms are the rooms of one run of the tests; a run after the
	// first in the same process (go test -count=N) uses copies of them
	// (roomsSpec), so each run starts from empty rooms.
	testRooms = "live:Live chat,history:History,deletes:Deletes,reconnect:Reconnect," +
		"xss:XSS,guests:Guests,retry:Retry,design:Design Review,composer:Composer," +
		"wiped:Wiped,emptied:Emptied,unsent:Unsent,autosize:Autosize,presence:Presence,busy:Busy,lapse:Lapse," +
		"edits:Edits,unread:Unread,limits:Limits,picker:Picker"
	testAPIKey   = "e2e-api-key"
	testAdminKey = "e2e-admin-key"
	testSigKey   = "e2e-grip-signing-key"
	testTable    = "chat-e2e"
	// testRateLimits is RATE_LIMITS of the stack: sends nearly unlimited
	// (tests seed through the API); edits 5 at once, then one per 12
	// minutes, so the sixth edit of TestRateLimitIsShown is refused however
	// slowly the machine runs; the other actions at their defaults.
	testRateLimits = "send=60000/1m/10000,edit=5/1h"
	// testLinkTimeout and testPresenceTTL: a visitor who leaves is gone
	// from the others' pages 7–12 s later.
	testLinkTimeout = "5"
	testPresenceTTL = "12"
)

// testStack is the local stack of `make dev` (stack.Start: in-process
// functions, free ports, DynamoDB Local in memory) with a fault injector in
// front, which is what the browser opens:
//
//	browser → faults → Pushpin → edge stand-in → API Gateway emulator → web, history, send, stream
//	                     ↑ publish                                            ↓
//	                     └──────────────── send ───────────────────── DynamoDB Local
type testStack struct {
	// URL is the fault injector's base URL, what the browser opens.
	URL string
	// faults lets a test break the path from the browser to Pushpin.
	faults *faults

	// rooms are the configured room slugs.
	rooms map[string]bool

	dev   *stack.Stack
	front *httptest.Server
	logs  *testkit.LockedBuffer
}

// roomsSpec is ROOMS of a stack that serves runs runs of the tests: the
// rooms of testRooms, then for each run n after the first a copy of each,
// slug-n named "Name n" (freshName's names).
func roomsSpec(runs int) string {
	specs := []string{testRooms}
	for n := 2; n <= runs; n++ {
		for _, part := range strings.Split(testRooms, ",") {
			slug, name, _ := strings.Cut(part, ":")
			specs = append(specs, fmt.Sprintf("%s-%d:%s %d", slug, n, name, n))
		}
	}
	return strings.Join(specs, ",")
}

// startStack starts the local stack on free ports, in memory, with rooms
// for runs runs of the tests, and the fault injector in front of its
// Pushpin.
func startStack(ctx context.Context, runs int) (s *testStack, err error) {
	s = &testStack{logs: &testkit.LockedBuffer{}, rooms: map[string]bool{}}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	root, err := proc.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	cfg := stack.DefaultConfig(root)
	cfg.EnvVarsFile, cfg.StateDir = "", ""
	cfg.PushpinPort, cfg.PublishPort, cfg.APIPort, cfg.EdgePort, cfg.DynamoPort = 0, 0, 0, 0, 0
	cfg.APIKeys, cfg.AdminKey, cfg.SigKey = testAPIKey, testAdminKey, testSigKey
	cfg.Env = map[string]string{
		config.EnvRooms:     roomsSpec(runs),
		config.EnvTableName: testTable,
		// Short, so that presence (refreshed once per link timeout) expires
		// within seconds of a visitor leaving: PRESENCE_TTL must exceed it.
		config.EnvLinkTimeout: testLinkTimeout,
		config.EnvPresenceTTL: testPresenceTTL,
		config.EnvLogLevel:    "debug",
		// The tests seed many messages per user through the API; the abuse
		// limit of sends is not what they test.
		config.EnvRateLimits: testRateLimits,
	}
	for _, part := range strings.Split(cfg.Env[config.EnvRooms], ",") {
		slug, _, _ := strings.Cut(part, ":")
		s.rooms[slug] = true
	}
	cfg.Log = s.logs
	if s.dev, err = stack.Start(ctx, cfg); err != nil {
		return nil, fmt.Errorf("start devstack: %w", err)
	}

	ppURL, err := url.Parse(s.dev.URL())
	if err != nil {
		return nil, fmt.Errorf("pushpin URL: %w", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(ppURL)
	proxy.FlushInterval = -1 // SSE
	s.faults = &faults{next: proxy}
	proxy.ModifyResponse = s.faults.modifyResponse
	s.front = httptest.NewServer(s.faults)
	s.URL = s.front.URL
	return s, nil
}

// stopPushpin stops Pushpin, dropping every held stream, until startPushpin.
func (s *testStack) stopPushpin() error {
	if err := s.dev.Pushpin().Stop(); err != nil {
		return fmt.Errorf("stop pushpin: %w", err)
	}
	return nil
}

// startPushpin starts Pushpin again on the same ports and directory.
func (s *testStack) startPushpin(ctx context.Context) error {
	if err := s.dev.Pushpin().Restart(ctx); err != nil {
		return fmt.Errorf("restart pushpin: %w", err)
	}
	return nil
}

// stop stops everything that startStack started, by pid.
func (s *testStack) stop() {
	if s.front != nil {
		s.front.CloseClientConnections()
		s.front.Close()
	}
	if s.dev != nil {
		if err := s.dev.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop the local stack: %v\n", err)
		}
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

// api calls the API Gateway emulator directly (not through Pushpin or the
// edge), as another client would: it keeps working while Pushpin is down.
func (s *testStack) api(ctx context.Context, method, path, user string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.dev.APIURL()+path, rd)
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

// send posts a message as user straight to the API.
func (s *testStack) send(ctx context.Context, room, user, text string) (message, error) {
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

// wipeRoom deletes every item of room straight from DynamoDB Local (its
// head, events and idempotency keys), as recreating the table would: the
// room's ids start again from 0 while pages that saw the old ids are open.
func (s *testStack) wipeRoom(ctx context.Context, room string) error {
	db := testkit.DynamoClient(s.dev.DynamoEndpoint())
	table := s.dev.TableName()
	pages := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "ROOM#" + room}},
		ProjectionExpression:      aws.String("pk, sk"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query items of room %s: %w", room, err)
		}
		for _, item := range page.Items {
			key := map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}
			if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key}); err != nil {
				return fmt.Errorf("delete item of room %s: %w", room, err)
			}
		}
	}
	return nil
}

// faults sits between the browser and Pushpin and can break the answers to
// message posts, as a flaky network would.
type faults struct {
	next http.Handler
	// loseSendAnswers makes the answer of each POST of a message a 502
	// after the send function handled it: the message is stored, the
	// browser never learns it.
	loseSendAnswers atomic.Bool
	// failSends answers each POST of a message with a 503 without passing
	// it on: nothing is stored.
	failSends atomic.Bool
	// busySends answers that many next POSTs of a message as the send
	// function answers a room it could not get the next id of: 503 with
	// Retry-After: 1, nothing stored.
	busySends atomic.Int32
	// presenceTTL, when not zero, rewrites every ttl in the live streams'
	// presence events to that many seconds, as if the proxy refreshed
	// presence less often than the events say.
	presenceTTL atomic.Int32
	// liveStreams counts the live stream requests (?live=1) seen.
	liveStreams atomic.Int32

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
		if f.failSends.Load() {
			http.Error(w, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		if f.busySends.Add(-1) >= 0 {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"too many concurrent writers; retry"}`+"\n")
			return
		}
		f.busySends.Store(0)
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/events") && r.URL.Query().Get("live") == "1" {
		f.liveStreams.Add(1)
	}
	f.next.ServeHTTP(w, r)
}

// ttlField is a ttl in a live event's JSON.
var ttlField = regexp.MustCompile(`"ttl":[0-9]+`)

// ttlRewriter rewrites the ttls of a stream body chunk by chunk (Pushpin
// writes each frame whole).
type ttlRewriter struct {
	body io.ReadCloser
	ttl  string
	buf  []byte
}

func (t *ttlRewriter) Read(p []byte) (int, error) {
	if len(t.buf) == 0 {
		chunk := make([]byte, 32<<10)
		n, err := t.body.Read(chunk)
		t.buf = ttlField.ReplaceAll(chunk[:n], []byte(`"ttl":`+t.ttl))
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

func (t *ttlRewriter) Close() error { return t.body.Close() }

func (f *faults) modifyResponse(res *http.Response) error {
	if ttl := f.presenceTTL.Load(); ttl > 0 && res.Request.URL.Query().Get("live") == "1" {
		res.Body = &ttlRewriter{body: res.Body, ttl: strconv.Itoa(int(ttl))}
	}
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
