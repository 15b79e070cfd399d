package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fanout-chat/serverless-chat/internal/chat"
	"github.com/fanout-chat/serverless-chat/internal/limit"
)

// messageID reads the {id} of a message route.
func messageID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadMessageID
	}
	return id, nil
}

// edit is PATCH /room/{room}/messages/{id}: the author's new text, with
// the body, checks and idempotency of a send. 200 + the message as edited
// (a repeated clientId: the message as it is, nothing published).
func (h *sendHandler) edit(w http.ResponseWriter, r *http.Request) {
	u, err := h.author(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	id, err := messageID(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	text, clientID, err := readSendBody(w, r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	if !allow(w, r, h.log, h.limit, limit.ActionEdit, u) {
		return
	}
	m, _, err := h.svc.Edit(r.Context(), chat.EditInput{Room: r.PathValue("room"), ID: id, User: u, Text: text, ClientID: clientID})
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// reactBody is the body of a reaction: {"emoji": "👍", "on": true}.
type reactBody struct {
	Emoji *string `json:"emoji"`
	On    *bool   `json:"on"`
}

// reactAnswer is the answer to a reaction: the reaction as it now is, and
// whether this request changed it.
type reactAnswer struct {
	chat.Reaction
	Changed bool `json:"changed"`
}

// react is PUT /room/{room}/messages/{id}/reactions: set whether the user
// reacts with an emoji. Setting what is already so is a 200 that changes
// nothing ("changed": false), so a retry or a second tab never counts twice.
func (h *sendHandler) react(w http.ResponseWriter, r *http.Request) {
	u, err := h.author(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	id, err := messageID(r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	b, err := readJSONBody(w, r)
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	var body reactBody
	if !isObject(b) || json.Unmarshal(b, &body) != nil || body.Emoji == nil || body.On == nil {
		WriteError(w, r, h.log, fmt.Errorf("decode reaction: %w", errMalformedReaction))
		return
	}
	if !allow(w, r, h.log, h.limit, limit.ActionReact, u) {
		return
	}
	rx, changed, err := h.svc.React(r.Context(), chat.Reaction{Room: r.PathValue("room"), MessageID: id, User: u, Emoji: *body.Emoji, On: *body.On})
	if err != nil {
		WriteError(w, r, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, reactAnswer{Reaction: rx, Changed: changed})
}

// isObject reports whether b, past leading blanks, starts a JSON object.
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}
