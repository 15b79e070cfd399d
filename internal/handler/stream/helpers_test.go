package stream

import (
	"bytes"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/chat/chattest"
	"github.com/fanout-chat/serverless-chat/internal/grip"
	"github.com/fanout-chat/serverless-chat/internal/handler"
	"github.com/fanout-chat/serverless-chat/internal/render"
)

const (
	testSigKey = "test-sig-key"
	testRoom   = "devops-bcn"
	testRooms  = "devops-exchange-ldn:DevOps Exchange London,devops-bcn:DevOps Barcelona"
)

// fixture is a chat service on the in-memory fakes with the stream handler
// in front of it.
type fixture struct {
	store  *chattest.Store
	svc    *chat.Service
	stream http.Handler
	logs   *bytes.Buffer
	// verifier checks Grip-Sig as the stream handler's does.
	verifier *grip.Verifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rooms, err := chat.ParseRooms(testRooms)
	if err != nil {
		t.Fatalf("parse rooms: %v", err)
	}
	f := &fixture{store: chattest.NewStore(), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The renderer only seeds the room: the stream function itself never sends.
	f.svc, err = chat.NewService(f.store, chattest.NewPublisher(), rooms, chat.WithLogger(log), chat.WithRenderer(render.New(true)))
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	v, err := grip.NewVerifier(grip.VerifierConfig{Key: []byte(testSigKey), Issuer: "pushpin"})
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	f.verifier = v
	// Suspicion off: these tests pin the rest of the hold; TestStreamSuspect covers it.
	f.stream = New(f.svc, v, Options{LinkTimeout: 120 * time.Second, KeepAlive: 20 * time.Second, SuspectWindow: -1}, handler.WithLogger(log))
	return f
}

// sigToken signs a Grip-Sig as Pushpin does (HS256, iss, exp).
func sigToken(t *testing.T, key string, method jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

func validSig(t *testing.T) string {
	return sigToken(t, testSigKey, jwt.SigningMethodHS256, jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix()})
}
