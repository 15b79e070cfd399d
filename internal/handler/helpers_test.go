package handler

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/render"
)

const (
	testAPIKey   = "test-api-key"
	testAdminKey = "test-admin-key"
	testRoom     = "devops-bcn"
	testRooms    = "devops-exchange-ldn:DevOps Exchange London,devops-bcn:DevOps Barcelona"
)

// fixture is a chat service on the in-memory fakes with the three handlers
// in front of it.
type fixture struct {
	store   *chattest.Store
	pub     *chattest.Publisher
	svc     *chat.Service
	send    http.Handler
	history http.Handler
	logs    *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatalf("parse rooms: %v", err)
	}
	f := &fixture{store: chattest.NewStore(), pub: chattest.NewPublisher(), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f.svc, err = chat.NewService(f.store, f.pub, rooms, chat.WithLogger(log), chat.WithRenderer(render.New(true)))
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	f.send = NewSendHandler(f.svc, Auth{APIKeys: []string{"other-key", testAPIKey}, AdminKey: testAdminKey}, WithLogger(log))
	f.history = NewHistoryHandler(f.svc, WithLogger(log))
	return f
}

func withRawBody(ev events.APIGatewayV2HTTPRequest, body []byte) events.APIGatewayV2HTTPRequest {
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	return ev
}
