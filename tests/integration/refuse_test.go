package integration

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signGripSig signs a Grip-Sig token with claims.
func signGripSig(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign Grip-Sig: %v", err)
	}
	return tok
}

// TestStreamRefusesUnsignedAndForgedGripSig calls the stream function
// directly (no proxy in between, as an attacker reaching the API Gateway
// URL would): no Grip-Sig is 406, a Grip-Sig that fails verification is
// 501, and neither is ever a hold.
func TestStreamRefusesUnsignedAndForgedGripSig(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	u := e.stack.APIURL() + "/room/" + room + "/events"
	valid := jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(time.Hour).Unix()}

	tests := []struct {
		name   string
		sig    string
		status int
		msg    string
	}{
		{"no Grip-Sig", "", http.StatusNotAcceptable, "text/event-stream requires GRIP proxy"},
		{"signed with the wrong key", signGripSig(t, jwt.SigningMethodHS256, []byte("not-the-sig-key"), valid), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"expired", signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(-time.Minute).Unix()}), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"alg none", signGripSig(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"HS384 with the right key", signGripSig(t, jwt.SigningMethodHS384, []byte(sigKey), valid), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"not a JWT", "e30.e30.x", http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		// The local stack checks Pushpin's issuer as production checks
		// fastly:<service id>, and no token may claim a validity of years.
		{"another issuer", signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), jwt.MapClaims{"iss": "someone-else", "exp": time.Now().Add(time.Hour).Unix()}), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"no issuer", signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"valid for 31 years", signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), jwt.MapClaims{"iss": "pushpin", "exp": time.Now().Add(31 * 365 * 24 * time.Hour).Unix()}), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
		{"issued a month ago", signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), jwt.MapClaims{"iss": "pushpin", "iat": time.Now().Add(-30 * 24 * time.Hour).Unix(), "exp": time.Now().Add(time.Hour).Unix()}), http.StatusNotImplemented, "GRIP proxy signature is not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Accept": {"text/event-stream"}}
			if tc.sig != "" {
				h.Set("Grip-Sig", tc.sig)
			}
			a := e.call(t, http.MethodGet, u, nil, h)
			expectError(t, tc.name, a, tc.status, tc.msg)
			for _, name := range []string{"Grip-Hold", "Grip-Channel", "Grip-Link"} {
				if v := a.header.Get(name); v != "" {
					t.Errorf("%s: %s: %q, want no GRIP instruction", tc.name, name, v)
				}
			}
		})
	}

	// The control: Pushpin's own signature opens a hold, so the refusals
	// above are about the signature and nothing else.
	t.Run("signed like Pushpin", func(t *testing.T) {
		t.Parallel()
		a := e.call(t, http.MethodGet, u, nil, http.Header{"Grip-Sig": {signGripSig(t, jwt.SigningMethodHS256, []byte(sigKey), valid)}})
		want := map[string]string{
			"Grip-Hold":    "stream",
			"Grip-Channel": "room-" + room + "; prev-id=0",
			"Content-Type": "text/event-stream",
		}
		for name, v := range want {
			if got := a.header.Get(name); got != v {
				t.Errorf("%s: got %q, want %q (answer %s)", name, got, v, a)
			}
		}
		if a.status != http.StatusOK {
			t.Errorf("status: got %d, want 200", a.status)
		}
	})
	// After the parallel subtests: none of these requests published.
	t.Cleanup(func() {
		if got := e.publish.Published("room-" + room); len(got) != 0 {
			t.Errorf("publishes on room-%s: got ids %v, want none", room, got)
		}
	})
}

// TestRefusedBodiesStoreAndPublishNothing: oversize and malformed sends,
// made through Pushpin with the edge's headers, are refused with the right
// status and JSON error; afterwards history and the room's last id are
// unchanged, the listener got nothing, and the next valid message takes
// the next id and is the next frame.
func TestRefusedBodiesStoreAndPublishNothing(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	l := e.listen(t, "listener", room)
	user := uniqueUser("sender")
	m1 := e.send(t, room, user, "the only stored message", 1)
	l.expectMessage(t, m1)

	const malformed = `body must be a JSON object {"text": "...", "clientId": "<uuid>"}`
	tests := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"501 characters", `{"text":"` + strings.Repeat("a", 501) + `"}`, http.StatusRequestEntityTooLarge, "message text is longer than 500 characters"},
		{"501 two-byte characters", `{"text":"` + strings.Repeat("é", 501) + `"}`, http.StatusRequestEntityTooLarge, "message text is longer than 500 characters"},
		{"body over 16 KiB", `{"text":"hi","pad":"` + strings.Repeat("x", 16<<10) + `"}`, http.StatusRequestEntityTooLarge, "request body is too large"},
		{"truncated JSON", `{"text":`, http.StatusBadRequest, malformed},
		{"text is a number", `{"text":5}`, http.StatusBadRequest, malformed},
		{"clientId is a number", `{"text":"hi","clientId":7}`, http.StatusBadRequest, malformed},
		{"an array", `["hi"]`, http.StatusBadRequest, malformed},
		{"two objects", `{"text":"a"}{"text":"b"}`, http.StatusBadRequest, malformed},
		{"invalid UTF-8", "{\"text\":\"\xff\xfe\"}", http.StatusBadRequest, "request body is not valid UTF-8"},
		{"empty text", `{"text":""}`, http.StatusBadRequest, "message text is empty"},
		{"only spaces", `{"text":"  \n\t "}`, http.StatusBadRequest, "message text is empty"},
		{"no text", `{}`, http.StatusBadRequest, "message text is empty"},
		{"empty body", ``, http.StatusBadRequest, malformed},
		{"control character", `{"text":"a\u0007b"}`, http.StatusBadRequest, "message text holds characters that are not allowed"},
		{"clientId not a UUID", `{"text":"hi","clientId":"not-a-uuid"}`, http.StatusBadRequest, "clientId must be a UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, http.MethodPost, e.stack.URL()+"/room/"+room+"/messages", []byte(tc.body), browserHeaders(user))
			expectError(t, tc.name, a, tc.status, tc.msg)
		})
	}

	p := e.history(t, room, "")
	if !reflect.DeepEqual(p.Messages, []message{m1}) || deref(p.LastEventID) != int64(1) {
		t.Fatalf("history after refused sends: got %+v lastEventId %v, want only message 1, lastEventId 1", p.Messages, deref(p.LastEventID))
	}
	l.quiet(t, 500*time.Millisecond)
	// 500 characters is the limit, not over it.
	m2 := e.send(t, room, user, strings.Repeat("é", 500), 2)
	l.expectMessage(t, m2)
	e.expectPublished(t, room, []int64{1, 2})
}

// TestAuthAndUnknownRoom: writes without x-api-key are 401 and with a
// wrong one 403, with the original app's messages; an unknown room is a
// JSON 404 on every route. None of it stores anything.
func TestAuthAndUnknownRoom(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	unknown := "it-no-such-room-" + strings.ToLower(uniqueUser("x"))
	base := e.stack.URL()
	body := sendBody("hello", newClientID())

	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		msg                string
	}{
		{"send without x-api-key", http.MethodPost, "/room/" + room + "/messages", http.Header{"X-User": {"ann"}}, http.StatusUnauthorized, "API key is missing"},
		{"send with a wrong x-api-key", http.MethodPost, "/room/" + room + "/messages", http.Header{"X-User": {"ann"}, "X-Api-Key": {"wrong"}}, http.StatusForbidden, "Invalid API key"},
		{"send with the admin key", http.MethodPost, "/room/" + room + "/messages", http.Header{"X-User": {"ann"}, "X-Api-Key": {adminKey}}, http.StatusForbidden, "Invalid API key"},
		{"send without x-user", http.MethodPost, "/room/" + room + "/messages", http.Header{"X-Api-Key": {apiKey}}, http.StatusUnauthorized, "x-user is missing: sign in first"},
		{"delete without x-api-key", http.MethodDelete, "/room/" + room + "/messages/1", http.Header{"X-User": {"ann"}}, http.StatusUnauthorized, "API key is missing"},
		{"delete with a wrong x-api-key", http.MethodDelete, "/room/" + room + "/messages/1", http.Header{"X-User": {"ann"}, "X-Api-Key": {"wrong"}}, http.StatusForbidden, "Invalid API key"},
		{"send to an unknown room", http.MethodPost, "/room/" + unknown + "/messages", scriptHeaders("ann"), http.StatusNotFound, "room not found"},
		{"history of an unknown room", http.MethodGet, "/room/" + unknown + "/messages", nil, http.StatusNotFound, "room not found"},
		{"events of an unknown room", http.MethodGet, "/room/" + unknown + "/events", http.Header{"Accept": {"text/event-stream"}}, http.StatusNotFound, "room not found"},
		{"clear an unknown room", http.MethodDelete, "/admin/room/" + unknown, http.Header{"X-Api-Key": {adminKey}}, http.StatusNotFound, "room not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.method == http.MethodPost {
				b = body
			}
			a := e.call(t, tc.method, base+tc.path, b, tc.header)
			expectError(t, tc.name, a, tc.status, tc.msg)
		})
	}

	if got := e.lastEventID(t, room); got != 0 {
		t.Fatalf("last event id after refused writes: got %d, want 0", got)
	}
	// Every key of API_KEYS is accepted, and the first message is id 1.
	a := e.call(t, http.MethodPost, base+"/room/"+room+"/messages", sendBody("with the second key", newClientID()),
		http.Header{"Content-Type": {"application/json"}, "X-User": {"ann"}, "X-Api-Key": {apiKey2}})
	if a.status != http.StatusCreated || decodeMessage(t, a.body).ID != 1 {
		t.Fatalf("send with the second API key: got %s, want 201 with id 1", a)
	}
	e.expectPublished(t, room, []int64{1})
}
