package stream

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/render"
	"github.com/fanout-chat/serverless-chat/tools/testkit"
)

// The benchmark runs captured API Gateway v2 events through
// httpadapter.NewV2(handler).ProxyWithContext, as the deployed function
// does, on the in-memory fakes: it measures the origin's CPU and allocations
// per request, without DynamoDB I/O. The handler logs one JSON line per
// request, as in Lambda, to io.Discard.

// newBenchStream is the stream handler on a service over the fakes, with
// the room seeded with seeded messages, and a valid Grip-Sig.
func newBenchStream(b *testing.B, seeded int) (*httpadapter.HandlerAdapterV2, string) {
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
		if _, _, err := svc.Send(context.Background(), chat.SendInput{Room: testRoom, User: "alice", Text: "seed **message** " + strconv.Itoa(i)}); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	v, err := grip.NewVerifier(grip.VerifierConfig{Key: []byte(testSigKey), Issuer: "pushpin"})
	if err != nil {
		b.Fatalf("new verifier: %v", err)
	}
	sig, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSigKey))
	if err != nil {
		b.Fatalf("sign: %v", err)
	}
	h := New(svc, v, Options{LinkTimeout: 120 * time.Second, KeepAlive: 20 * time.Second}, handler.WithLogger(log))
	return httpadapter.NewV2(h), sig
}

// withHeaders returns ev with its headers replaced by a copy plus kv pairs.
func withHeaders(ev events.APIGatewayV2HTTPRequest, kv ...string) events.APIGatewayV2HTTPRequest {
	for i := 0; i+1 < len(kv); i += 2 {
		ev = testkit.WithHeader(ev, kv[i], kv[i+1])
	}
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

// BenchmarkStreamHandler measures the stream function: a new listener (the
// hold with no replay), a reconnect with Last-Event-ID that replays 20
// events, Pushpin's idempotent next-link call with nothing new (the call
// made ~1 s after each subscribe and on every link timeout), and a request
// without Grip-Sig (406).
func BenchmarkStreamHandler(b *testing.B) {
	stream, sig := newBenchStream(b, 100)
	base := testkit.Event(b, "stream-events.json")
	next := testkit.Event(b, "stream-events-next-link.json")
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		want   int
		frames int
	}{
		{"new-listener", withHeaders(base, "grip-sig", sig), http.StatusOK, 0},
		{"resume-20", withHeaders(base, "grip-sig", sig, "last-event-id", "80"), http.StatusOK, 20},
		{"next-link-idle", withHeaders(func() events.APIGatewayV2HTTPRequest {
			ev := next
			ev.RawQueryString, ev.QueryStringParameters = "lastEventId=100", nil
			return ev
		}(), "grip-sig", sig, "grip-last", "room-"+testRoom+"; last-id=100"), http.StatusOK, 0},
		{"no-grip-sig", withHeaders(base, "grip-sig", ""), http.StatusNotAcceptable, 0},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			resp := proxy(b, stream, bc.ev, bc.want)
			if bc.want == http.StatusOK {
				if got := strings.Count(resp.Body, "\nevent: message\n"); got != bc.frames {
					b.Fatalf("answer carries %d message frames, want %d: %q", got, bc.frames, resp.Body)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				proxy(b, stream, bc.ev, bc.want)
			}
		})
	}
}
