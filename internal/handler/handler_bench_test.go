package handler_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/render"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// The benchmarks run captured API Gateway v2 events through
// httpadapter.NewV2(handler).ProxyWithContext, as the deployed functions do,
// on the in-memory fakes: what they measure is the origin's CPU and
// allocations per request, without DynamoDB or publish I/O. The handlers log
// one JSON line per request, as in Lambda, to io.Discard.

const (
	benchAPIKey = "test-api-key"
	benchRoom   = "devops-bcn"
)

// benchEnv is the three handlers on one service over the fakes, with the
// room seeded with seeded messages.
type benchEnv struct {
	send, history *httpadapter.HandlerAdapterV2
}

func newBenchEnv(b *testing.B, seeded int) *benchEnv {
	b.Helper()
	rooms, err := chat.ParseRooms(chat.DefaultRooms)
	if err != nil {
		b.Fatalf("parse rooms: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc, err := chat.NewService(chattest.NewStore(), chattest.NewPublisher(), rooms, chat.WithLogger(log), chat.WithRenderer(render.New(true)))
	if err != nil {
		b.Fatalf("new service: %v", err)
	}
	for i := range seeded {
		if _, _, err := svc.Send(context.Background(), chat.SendInput{Room: benchRoom, User: "alice", Text: "seed **message** " + strconv.Itoa(i)}); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return &benchEnv{
		send:    httpadapter.NewV2(handler.NewSendHandler(svc, handler.Auth{APIKeys: []string{benchAPIKey}}, handler.WithLogger(log))),
		history: httpadapter.NewV2(handler.NewHistoryHandler(svc, handler.WithLogger(log))),
	}
}

// benchEvent reads a captured API Gateway v2 request from testdata/apigw.
func benchEvent(b *testing.B, name string) events.APIGatewayV2HTTPRequest {
	b.Helper()
	return testkit.Event(b, name)
}

// withHeaders returns ev with its headers replaced by a copy plus kv pairs.
func withHeaders(ev events.APIGatewayV2HTTPRequest, kv ...string) events.APIGatewayV2HTTPRequest {
	h := make(map[string]string, len(ev.Headers)+len(kv)/2)
	for k, v := range ev.Headers {
		h[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	ev.Headers = h
	return ev
}

// proxy runs ev through the adapter and fails unless the status is want.
func proxy(b *testing.B, a *httpadapter.HandlerAdapterV2, ev events.APIGatewayV2HTTPRequest, want int) events.APIGatewayV2HTTPResponse {
	resp, err := a.ProxyWithContext(context.Background(), ev)
	if err != nil {
		b.Fatalf("proxy %s: %v", ev.RawPath, err)
	}
	if resp.StatusCode != want {
		b.Fatalf("%s %s = %d %s, want %d", ev.RequestContext.HTTP.Method, ev.RawPath, resp.StatusCode, resp.Body, want)
	}
	return resp
}

// BenchmarkSendHandler measures one POST /room/{room}/messages: a new
// message (201, stored and published) and a retried one (same clientId,
// 200, nothing published).
func BenchmarkSendHandler(b *testing.B) {
	base := benchEvent(b, "send-post-message.json")
	base = withHeaders(base, "x-api-key", benchAPIKey)
	b.Run("new-message", func(b *testing.B) {
		env := newBenchEnv(b, 0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			ev := base
			id := strconv.FormatInt(int64(i), 16)
			ev.Body = `{"text":"Hello **world**","clientId":"00000000-0000-4000-8000-` + strings.Repeat("0", 12-len(id)) + id + `"}`
			proxy(b, env.send, ev, http.StatusCreated)
		}
	})
	b.Run("retry-same-clientId", func(b *testing.B) {
		env := newBenchEnv(b, 0)
		proxy(b, env.send, base, http.StatusCreated)
		b.ReportAllocs()
		for b.Loop() {
			proxy(b, env.send, base, http.StatusOK)
		}
	})
}

// BenchmarkHistoryHandler measures the newest page of 20 and an older page
// of a room of 200 messages, and the room list.
func BenchmarkHistoryHandler(b *testing.B) {
	env := newBenchEnv(b, 200)
	base := benchEvent(b, "history-messages.json")
	for _, bc := range []struct {
		name, query string
	}{{"newest-20", "limit=20"}, {"older-20", "before=100&limit=20"}} {
		b.Run(bc.name, func(b *testing.B) {
			ev := base
			ev.RawQueryString, ev.QueryStringParameters = bc.query, nil
			b.ReportAllocs()
			for b.Loop() {
				proxy(b, env.history, ev, http.StatusOK)
			}
		})
	}
	b.Run("rooms", func(b *testing.B) {
		ev := benchEvent(b, "history-rooms.json")
		b.ReportAllocs()
		for b.Loop() {
			proxy(b, env.history, ev, http.StatusOK)
		}
	})
}
