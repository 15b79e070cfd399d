package integration

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsonBody encodes v for a request.
func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// editedMessage is the JSON of a message that was edited or reacted to:
// the contract's fields plus editedAt and reactions.
type editedMessage struct {
	message
	EditedAt  string              `json:"editedAt"`
	Reactions map[string][]string `json:"reactions"`
}

// decodeEdited decodes message JSON that may carry editedAt and reactions,
// failing on any other extra field.
func decodeEdited(t *testing.T, b []byte) editedMessage {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("message %q is not a JSON object: %v", b, err)
	}
	for k := range fields {
		if !slices.Contains(messageKeys, k) && k != "editedAt" && k != "reactions" {
			t.Fatalf("message %s: unexpected field %q", b, k)
		}
	}
	var m editedMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	if m.EditedAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, m.EditedAt); err != nil || !strings.HasSuffix(m.EditedAt, "Z") {
			t.Fatalf("message %s: editedAt %q is not a UTC time", b, m.EditedAt)
		}
	}
	return m
}

// expectEdit reads the next frame and fails unless it is an edit event with
// that id carrying message msgID with text.
func (l *listener) expectEdit(t *testing.T, id, msgID int64, text string) editedMessage {
	t.Helper()
	f := l.next(t, liveWait)
	if f.ID != strconv.FormatInt(id, 10) || f.Event != "edit" {
		t.Fatalf("listener %s: got frame %s, want id %d event edit; received so far: %s", l.name, f, id, l.history())
	}
	m := decodeEdited(t, []byte(f.Data))
	if m.ID != msgID || m.Text != text || m.EditedAt == "" {
		t.Fatalf("listener %s: edit %d = %+v, want message %d with text %q and editedAt", l.name, id, m, msgID, text)
	}
	return m
}

// reaction is the data of a reaction event.
func reaction(room string, msgID int64, user, emoji string, on bool) map[string]any {
	return map[string]any{"id": msgID, "room": room, "user": user, "emoji": emoji, "on": on}
}

// TestEditsAndReactionsThroughPushpin: an author's edit and other users'
// reactions reach every listener as events in the id chain, stay in
// history, and are replayed to a listener resuming from before them; a
// reaction sent twice at once counts once; a deleted message takes no more.
func TestEditsAndReactionsThroughPushpin(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	// Edits and reactions count against each user's limits: users of
	// their own, so the test runs again in the same process (-count).
	ann, bob := uniqueUser("Ann Editor"), uniqueUser("bob")
	base := e.stack.URL() + "/room/" + room + "/messages/"
	a := e.listen(t, "a", room)
	b := e.listen(t, "b", room)
	m1 := e.send(t, room, ann, "helo wrld", 1)
	a.expectMessage(t, m1)
	b.expectMessage(t, m1)

	// The author edits through the edge, as a browser does.
	cid := newClientID()
	edit := jsonBody(map[string]string{"text": "hello *world*", "clientId": cid})
	ans := e.call(t, http.MethodPatch, base+"1", edit, browserHeaders(ann))
	if ans.status != http.StatusOK {
		t.Fatalf("edit: got %s, want 200", ans)
	}
	if m := decodeEdited(t, ans.body); m.Text != "hello *world*" || m.HTML != "hello <em>world</em>" || m.EditedAt == "" || m.SentAt != m1.SentAt {
		t.Fatalf("edit answered %+v", m)
	}
	for _, l := range []*listener{a, b} {
		l.expectEdit(t, 2, 1, "hello *world*")
	}
	// The same edit again (a retry): 200, nothing new.
	if again := e.call(t, http.MethodPatch, base+"1", edit, browserHeaders(ann)); again.status != http.StatusOK {
		t.Fatalf("repeated edit: got %s, want 200", again)
	}

	// Reactions from others; two tabs of bob send the same one at once.
	react := func(user, emoji string, on bool) answer {
		return e.call(t, http.MethodPut, base+"1/reactions", jsonBody(map[string]any{"emoji": emoji, "on": on}), browserHeaders(user))
	}
	if r := react(bob, "🎉", true); r.status != http.StatusOK || !strings.Contains(string(r.body), `"changed":true`) {
		t.Fatalf("react: got %s", r)
	}
	var wg sync.WaitGroup
	answers := make([]answer, 2)
	for i := range answers {
		wg.Go(func() {
			r, err := e.do(http.MethodPut, base+"1/reactions", jsonBody(map[string]any{"emoji": "👍", "on": true}), browserHeaders(bob))
			if err != nil {
				t.Error(err)
			}
			answers[i] = r
		})
	}
	wg.Wait()
	changed := 0
	for _, r := range answers {
		if r.status != http.StatusOK {
			t.Fatalf("concurrent reaction: got %s", r)
		}
		if strings.Contains(string(r.body), `"changed":true`) {
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("two tabs' identical reactions changed %d times, want 1: %v", changed, answers)
	}
	for _, l := range []*listener{a, b} {
		l.expectEvent(t, 3, "reaction", reaction(room, 1, bob, "🎉", true))
		l.expectEvent(t, 4, "reaction", reaction(room, 1, bob, "👍", true))
	}

	// History has the edited text and the reactions.
	hist := e.call(t, http.MethodGet, e.stack.URL()+"/room/"+room+"/messages", nil, nil)
	var p struct {
		Messages    []json.RawMessage `json:"messages"`
		LastEventID int64             `json:"lastEventId"`
	}
	if err := json.Unmarshal(hist.body, &p); err != nil || len(p.Messages) != 1 || p.LastEventID != 4 {
		t.Fatalf("history: %s (%v)", hist, err)
	}
	hm := decodeEdited(t, p.Messages[0])
	if hm.Text != "hello *world*" || hm.EditedAt == "" || !slices.Equal(hm.Reactions["🎉"], []string{bob}) ||
		!slices.Equal(hm.Reactions["👍"], []string{bob}) || len(hm.Reactions) != 2 {
		t.Fatalf("history message = %+v", hm)
	}

	// A listener resuming from before the edit gets it and the reactions.
	resumed := e.listen(t, "resumed after 1", room, withLastEventID(1))
	resumed.expectEdit(t, 2, 1, "hello *world*")
	resumed.expectEvent(t, 3, "reaction", reaction(room, 1, bob, "🎉", true))
	resumed.expectEvent(t, 4, "reaction", reaction(room, 1, bob, "👍", true))
	// From the start: the message as it is now, then the same events.
	fromStart := e.listen(t, "resumed after 0", room, withLastEventID(0))
	f := fromStart.next(t, liveWait)
	if m := decodeEdited(t, []byte(f.Data)); f.ID != "1" || f.Event != "message" || m.Text != "hello *world*" || len(m.Reactions) != 2 {
		t.Fatalf("replayed message: %s", f)
	}
	fromStart.expectEdit(t, 2, 1, "hello *world*")

	// Only the author edits; unknown ids; a deleted message takes nothing.
	expectError(t, "someone else's edit", e.call(t, http.MethodPatch, base+"1", jsonBody(map[string]string{"text": "mine"}), browserHeaders(bob)),
		http.StatusForbidden, "only the author may edit a message")
	expectError(t, "unknown id", e.call(t, http.MethodPatch, base+"99", jsonBody(map[string]string{"text": "x"}), browserHeaders(ann)),
		http.StatusNotFound, "message not found")
	expectError(t, "emoji outside the set", react(bob, "🍕", true), http.StatusBadRequest, "emoji must be one of 👍 ❤️ 😂 🎉 😮 😢")
	if d := e.call(t, http.MethodDelete, base+"1", nil, browserHeaders(ann)); d.status != http.StatusNoContent {
		t.Fatalf("delete: %s", d)
	}
	a.expectEvent(t, 5, "delete", map[string]any{"id": 1, "room": room})
	expectError(t, "edit after delete", e.call(t, http.MethodPatch, base+"1", jsonBody(map[string]string{"text": "x"}), browserHeaders(ann)),
		http.StatusConflict, "the message was deleted")
	expectError(t, "reaction after delete", react(bob, "😮", true), http.StatusConflict, "the message was deleted")
	e.expectPublished(t, room, idRange(1, 5))

	// Resuming from before it all now replays no text of the deleted
	// message: the edit is skipped like the message's tombstone.
	late := e.listen(t, "resumed after delete", room, withLastEventID(0))
	late.expectEvent(t, 3, "reaction", reaction(room, 1, bob, "🎉", true))
	late.expectEvent(t, 4, "reaction", reaction(room, 1, bob, "👍", true))
	late.expectEvent(t, 5, "delete", map[string]any{"id": 1, "room": room})
}

// TestAdminClearTakesBackReactions: clearing a user in a room through the
// admin route also takes that user's reactions off the others' messages:
// history, a resume from before the clear (the messages as they are now)
// and a resume after it show none of them, and the user's later reactions
// count again.
func TestAdminClearTakesBackReactions(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	base := e.stack.URL() + "/room/" + room + "/messages/"
	alice, bob, carol := uniqueUser("alice"), uniqueUser("bob"), uniqueUser("carol")
	l := e.listen(t, "room", room)
	m1 := e.send(t, room, bob, "bob's", 1)
	m2 := e.send(t, room, carol, "carol's", 2)
	m3 := e.send(t, room, alice, "alice's", 3)
	for _, m := range []message{m1, m2, m3} {
		l.expectMessage(t, m)
	}
	react := func(user string, msgID int64, emoji string) {
		t.Helper()
		u := base + strconv.FormatInt(msgID, 10) + "/reactions"
		if a := e.call(t, http.MethodPut, u, jsonBody(map[string]any{"emoji": emoji, "on": true}), browserHeaders(user)); a.status != http.StatusOK {
			t.Fatalf("%s reacts %s to %d: got %s, want 200", user, emoji, msgID, a)
		}
	}
	reactions := []struct {
		user  string
		msgID int64
		emoji string
	}{{alice, 1, "👍"}, {alice, 1, "🎉"}, {bob, 1, "👍"}, {alice, 2, "❤️"}, {bob, 3, "😮"}}
	for i, r := range reactions {
		react(r.user, r.msgID, r.emoji)
		l.expectEvent(t, int64(4+i), "reaction", reaction(room, r.msgID, r.user, r.emoji, true))
	}

	h := http.Header{}
	h.Set("X-Api-Key", adminKey)
	if a := e.call(t, http.MethodDelete, e.stack.URL()+"/admin/room/"+room+"/"+alice, nil, h); a.status != http.StatusNoContent {
		t.Fatalf("clear %s: got %s, want 204", alice, a)
	}
	l.expectEvent(t, 9, "refresh", map[string]any{"room": room, "user": alice})

	// history returns the page's messages by id.
	history := func() map[int64]editedMessage {
		t.Helper()
		var p struct {
			Messages []json.RawMessage `json:"messages"`
		}
		hist := e.call(t, http.MethodGet, e.stack.URL()+"/room/"+room+"/messages", nil, nil)
		if err := json.Unmarshal(hist.body, &p); err != nil {
			t.Fatalf("history: %s (%v)", hist, err)
		}
		out := map[int64]editedMessage{}
		for _, raw := range p.Messages {
			m := decodeEdited(t, raw)
			out[m.ID] = m
		}
		return out
	}
	got := history()
	if len(got) != 2 || !equalReactions(got[1].Reactions, map[string][]string{"👍": {bob}}) || got[2].Reactions != nil {
		t.Fatalf("history after clearing %s: %+v, want messages 1 (bob's 👍 only) and 2 (no reactions)", alice, got)
	}
	// A resume from before the clear replays the messages as they are now.
	before := e.listen(t, "resumed after 0", room, withLastEventID(0))
	for _, want := range []struct {
		id        int64
		reactions map[string][]string
	}{{1, map[string][]string{"👍": {bob}}}, {2, nil}} {
		f := before.next(t, liveWait)
		if m := decodeEdited(t, []byte(f.Data)); f.Event != "message" || m.ID != want.id || !equalReactions(m.Reactions, want.reactions) {
			t.Fatalf("resumed from 0: got %s, want message %d with reactions %v", f, want.id, want.reactions)
		}
	}
	// After the clear alice reacts again: a resume from the refresh gets
	// just that, and history counts it.
	react(alice, 1, "😮")
	after := e.listen(t, "resumed after the refresh", room, withLastEventID(9))
	after.expectEvent(t, 10, "reaction", reaction(room, 1, alice, "😮", true))
	l.expectEvent(t, 10, "reaction", reaction(room, 1, alice, "😮", true))
	if m := history()[1]; !equalReactions(m.Reactions, map[string][]string{"👍": {bob}, "😮": {alice}}) {
		t.Fatalf("history after %s reacted again: %+v", alice, m.Reactions)
	}
	e.expectPublished(t, room, idRange(1, 10))
}

// equalReactions reports whether two messages' reactions are the same.
func equalReactions(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]string])
}

// TestWriteLimitsThroughPushpin: past its burst, a user's edit is refused
// with 429 and Retry-After through Pushpin and the edge, stores and
// publishes nothing, and other users are not affected.
func TestWriteLimitsThroughPushpin(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	user := uniqueUser("hasty")
	m := e.send(t, room, user, "draft", 1)
	u := e.stack.URL() + "/room/" + room + "/messages/" + itoa(m.ID)
	// The stack's edit limit lets 5 through at once (sendLimitForTests).
	for i := range 5 {
		a := e.call(t, http.MethodPatch, u, jsonBody(map[string]string{"text": "draft " + strconv.Itoa(i)}), scriptHeaders(user))
		if a.status != http.StatusOK {
			t.Fatalf("edit %d: got %s, want 200", i, a)
		}
	}
	a := e.call(t, http.MethodPatch, u, jsonBody(map[string]string{"text": "one too many"}), scriptHeaders(user))
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("6th edit: got %s, want 429", a)
	}
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds >= 1", a.header.Get("Retry-After"))
	}
	var body struct {
		Error      string `json:"error"`
		RetryAfter int    `json:"retryAfter"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil || body.RetryAfter != secs || !strings.HasPrefix(body.Error, "too many edits: try again in ") {
		t.Fatalf("429 body %s (%v)", a.body, err)
	}
	e.expectPublished(t, room, idRange(1, 6))
	if p := e.history(t, room, ""); len(p.Messages) != 1 || *p.LastEventID != 6 {
		t.Fatalf("history after the refused edit: %+v", p)
	}
	// Sends are another bucket; other users have their own.
	e.send(t, room, user, "a send still passes", 7)
	other := e.call(t, http.MethodPut, u+"/reactions", jsonBody(map[string]any{"emoji": "😂", "on": true}), scriptHeaders(uniqueUser("calm")))
	if other.status != http.StatusOK {
		t.Fatalf("another user's reaction: %s", other)
	}
}

// TestLostEditRecoveredThroughNextLink: an edit whose publish is lost
// reaches the listener through Pushpin's next link, which replays it with
// the message read back from DynamoDB, followed by the reaction published
// after it.
func TestLostEditRecoveredThroughNextLink(t *testing.T) {
	t.Parallel()
	e := stackFor(t)
	room := e.room(t)
	channel := "room-" + room
	lou, mo := uniqueUser("Lou"), uniqueUser("Mo")
	l := e.listen(t, "listener", room)
	m1 := e.send(t, room, lou, "befor", 1)
	l.expectMessage(t, m1)

	e.publish.DropNext(channel)
	u := e.stack.URL() + "/room/" + room + "/messages/1"
	if a := e.call(t, http.MethodPatch, u, jsonBody(map[string]string{"text": "before"}), scriptHeaders(lou)); a.status != http.StatusOK {
		t.Fatalf("edit: %s", a)
	}
	if got := e.publish.Dropped(channel); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("dropped publishes on %s: got %v, want [2]", channel, got)
	}
	if a := e.call(t, http.MethodPut, u+"/reactions", jsonBody(map[string]any{"emoji": "😮", "on": true}), scriptHeaders(mo)); a.status != http.StatusOK {
		t.Fatalf("react: %s", a)
	}
	// Pushpin holds the reaction (prev-id 2) for 5–10 s waiting for 2, then
	// follows the next link, whose answer carries the edit and the reaction.
	l.expectEdit(t, 2, 1, "before")
	l.expectEvent(t, 3, "reaction", reaction(room, 1, mo, "😮", true))
	e.expectPublished(t, room, idRange(1, 3))
}
