package integration

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestHistoryPages: newest first, 20 by default, the before (or lastId)
// cursor for older pages, the more flag, a clamped limit, and lastEventId
// on the newest page only.
func TestHistoryPages(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)

	empty := e.call(t, http.MethodGet, e.stack.URL()+"/room/"+room+"/messages", nil, nil)
	if want := fmt.Sprintf(`{"room":{"slug":%q,"name":%q},"messages":[],"more":false,"before":null,"lastEventId":0}`, room, e.names[room]); empty.status != http.StatusOK || strings.TrimSpace(string(empty.body)) != want {
		t.Fatalf("empty room: got %s, want 200 %s", empty, want)
	}

	const n = 25
	sent := map[int64]message{}
	for i := int64(1); i <= n; i++ {
		sent[i] = e.send(t, room, fmt.Sprintf("user-%d", i%3), fmt.Sprintf("history message %d", i), i)
	}
	msgs := func(from, to int64) []message {
		var out []message
		for _, id := range idRange(from, to) {
			out = append(out, sent[id])
		}
		return out
	}
	ptr := func(v int64) *int64 { return &v }

	tests := []struct {
		name        string
		query       string
		want        []message
		more        bool
		before      *int64
		lastEventID *int64
	}{
		{"newest page, default limit 20", "", msgs(25, 6), true, ptr(6), ptr(n)},
		{"older page by before", "before=6", msgs(5, 1), false, ptr(1), nil},
		{"older page by the original app's lastId", "lastId=6", msgs(5, 1), false, ptr(1), nil},
		{"limit 5", "limit=5", msgs(25, 21), true, ptr(21), ptr(n)},
		{"limit 5 before 21", "limit=5&before=21", msgs(20, 16), true, ptr(16), nil},
		{"limit 0 is the default", "limit=0", msgs(25, 6), true, ptr(6), ptr(n)},
		{"limit above 100 returns all 25", "limit=1000", msgs(25, 1), false, ptr(1), ptr(n)},
		{"before the first id is empty", "before=1", []message{}, false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.history(t, room, tc.query)
			if p.Room.Slug != room || p.Room.Name != e.names[room] {
				t.Errorf("room: got %+v, want {%s %s}", p.Room, room, e.names[room])
			}
			if p.Messages == nil {
				p.Messages = []message{}
			}
			if !reflect.DeepEqual(p.Messages, tc.want) {
				t.Errorf("messages: got ids %v, want %v (or contents differ:\n got  %+v\n want %+v)", ids(p.Messages), ids(tc.want), p.Messages, tc.want)
			}
			if p.More != tc.more {
				t.Errorf("more: got %v, want %v", p.More, tc.more)
			}
			if !reflect.DeepEqual(p.Before, tc.before) {
				t.Errorf("before: got %v, want %v", deref(p.Before), deref(tc.before))
			}
			if !reflect.DeepEqual(p.LastEventID, tc.lastEventID) {
				t.Errorf("lastEventId: got %v, want %v", deref(p.LastEventID), deref(tc.lastEventID))
			}
		})
	}

	bad := []struct{ name, query string }{
		{"negative limit", "limit=-1"},
		{"limit not a number", "limit=ten"},
		{"before not a number", "before=x"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, http.MethodGet, e.stack.URL()+"/room/"+room+"/messages?"+tc.query, nil, nil)
			expectError(t, "GET ?"+tc.query, a, http.StatusBadRequest, "before, lastId and limit must be whole numbers")
		})
	}
	e.expectPublished(t, room, idRange(1, n))
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestDeletePropagates: only the author deletes (204, others 403, unknown
// 404); every listener gets a delete event with the message's id, and the
// message leaves history.
func TestDeletePropagates(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	la, lb := e.listen(t, "a", room), e.listen(t, "b", room)
	alice, bob := uniqueUser("alice"), uniqueUser("bob")

	m1 := e.send(t, room, alice, "to be deleted", 1)
	m2 := e.send(t, room, bob, "stays", 2)
	for _, l := range []*listener{la, lb} {
		l.expectMessage(t, m1)
		l.expectMessage(t, m2)
	}
	del := func(user, id string) answer {
		return e.call(t, http.MethodDelete, e.stack.URL()+"/room/"+room+"/messages/"+id, nil, scriptHeaders(user))
	}

	expectError(t, "bob deletes alice's message", del(bob, "1"), http.StatusForbidden, "only the author may delete a message")
	expectError(t, "delete an unknown id", del(alice, "999"), http.StatusNotFound, "message not found")
	expectError(t, "delete id abc", del(alice, "abc"), http.StatusBadRequest, "message id must be a positive integer")

	if a := del(alice, "1"); a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Fatalf("alice deletes her message: got %s, want 204 without a body", a)
	}
	for _, l := range []*listener{la, lb} {
		l.expectEvent(t, 3, "delete", map[string]any{"id": 1, "room": room})
	}
	expectError(t, "delete it again", del(alice, "1"), http.StatusNotFound, "message not found")

	p := e.history(t, room, "")
	if !reflect.DeepEqual(p.Messages, []message{m2}) || deref(p.LastEventID) != int64(3) {
		t.Fatalf("history after the delete: got %+v lastEventId %v, want only message 2, lastEventId 3", p.Messages, deref(p.LastEventID))
	}
	// The refused deletes took no id and published nothing: the next
	// message is id 4 and the next frame.
	m4 := e.send(t, room, bob, "after the delete", 4)
	la.expectMessage(t, m4)
	lb.expectMessage(t, m4)
	e.expectPublished(t, room, idRange(1, 4))
}

// TestAdminClearsPropagate: clearing one user in a room, one user in every
// room, and a whole room each publish refresh to the affected rooms and
// empty their history accordingly; a wrong or missing admin key is refused
// and changes nothing.
func TestAdminClearsPropagate(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	r1, r2 := e.room(t), e.room(t)
	l1, l2 := e.listen(t, "room 1", r1), e.listen(t, "room 2", r2)
	alice, bob, carol := uniqueUser("alice"), uniqueUser("bob"), uniqueUser("carol")

	r1m1 := e.send(t, r1, alice, "alice in room 1", 1)
	r1m2 := e.send(t, r1, bob, "bob in room 1", 2)
	r1m3 := e.send(t, r1, alice, "alice again in room 1", 3)
	r2m1 := e.send(t, r2, alice, "alice in room 2", 1)
	r2m2 := e.send(t, r2, carol, "carol in room 2", 2)
	for _, m := range []message{r1m1, r1m2, r1m3} {
		l1.expectMessage(t, m)
	}
	for _, m := range []message{r2m1, r2m2} {
		l2.expectMessage(t, m)
	}
	admin := func(key, path string) answer {
		h := http.Header{}
		if key != "" {
			h.Set("X-Api-Key", key)
		}
		return e.call(t, http.MethodDelete, e.stack.URL()+path, nil, h)
	}
	expectNoContent := func(what string, a answer) {
		t.Helper()
		if a.status != http.StatusNoContent {
			t.Fatalf("%s: got %s, want 204", what, a)
		}
	}

	refused := []struct {
		name, key, path string
		status          int
		msg             string
	}{
		{"clear room with a user key", apiKey, "/admin/room/" + r1, http.StatusForbidden, "Invalid API key"},
		{"clear room without a key", "", "/admin/room/" + r1, http.StatusUnauthorized, "API key is missing"},
		{"clear user in room with a wrong key", "nope", "/admin/room/" + r1 + "/" + alice, http.StatusForbidden, "Invalid API key"},
		{"clear user everywhere with a user key", apiKey2, "/admin/users/" + alice, http.StatusForbidden, "Invalid API key"},
	}
	for _, tc := range refused {
		expectError(t, tc.name, admin(tc.key, tc.path), tc.status, tc.msg)
	}
	if got := e.lastEventID(t, r1); got != 3 {
		t.Fatalf("room 1 last event id after refused clears: got %d, want 3", got)
	}

	// One user in one room.
	expectNoContent("clear alice in room 1", admin(adminKey, "/admin/room/"+r1+"/"+alice))
	l1.expectEvent(t, 4, "refresh", map[string]any{"room": r1, "user": alice})
	if p := e.history(t, r1, ""); !reflect.DeepEqual(p.Messages, []message{r1m2}) || deref(p.LastEventID) != int64(4) {
		t.Fatalf("room 1 after clearing alice: got %+v lastEventId %v, want only bob's message, lastEventId 4", p.Messages, deref(p.LastEventID))
	}

	// One user everywhere: alice has live messages in room 2 and, again, in
	// room 1.
	r1m5 := e.send(t, r1, alice, "alice is back in room 1", 5)
	l1.expectMessage(t, r1m5)
	expectNoContent("clear alice everywhere", admin(adminKey, "/admin/users/"+alice))
	l1.expectEvent(t, 6, "refresh", map[string]any{"room": r1, "user": alice})
	l2.expectEvent(t, 3, "refresh", map[string]any{"room": r2, "user": alice})
	if p := e.history(t, r1, ""); !reflect.DeepEqual(p.Messages, []message{r1m2}) {
		t.Fatalf("room 1 after clearing alice everywhere: got %+v, want only bob's message", p.Messages)
	}
	if p := e.history(t, r2, ""); !reflect.DeepEqual(p.Messages, []message{r2m2}) || deref(p.LastEventID) != int64(3) {
		t.Fatalf("room 2 after clearing alice everywhere: got %+v lastEventId %v, want only carol's message, lastEventId 3", p.Messages, deref(p.LastEventID))
	}

	// A whole room.
	expectNoContent("clear room 1", admin(adminKey, "/admin/room/"+r1))
	l1.expectEvent(t, 7, "refresh", map[string]any{"room": r1})
	if p := e.history(t, r1, ""); len(p.Messages) != 0 || p.More || deref(p.LastEventID) != int64(7) {
		t.Fatalf("room 1 after the clear: got %+v more=%v lastEventId %v, want no message, lastEventId 7", p.Messages, p.More, deref(p.LastEventID))
	}

	// Room 2 saw nothing of room 1's clear: its next frame is its next
	// message. Room 1 goes on from 8.
	r2m4 := e.send(t, r2, carol, "room 2 goes on", 4)
	l2.expectMessage(t, r2m4)
	r1m8 := e.send(t, r1, bob, "room 1 starts again", 8)
	l1.expectMessage(t, r1m8)
	if got := ids(e.history(t, r2, "").Messages); !slices.Equal(got, []int64{4, 2}) {
		t.Fatalf("room 2 history ids: got %v, want [4 2]", got)
	}
	e.expectPublished(t, r1, idRange(1, 8))
	e.expectPublished(t, r2, idRange(1, 4))
}
