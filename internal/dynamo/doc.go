// Package dynamo implements chat.Store on one DynamoDB table.
//
// # Key design
//
// Every item of a room lives in the partition pk = "ROOM#<slug>":
//
//	item             sk                      attributes
//	room head        META                    lastId (N)
//	event            EV#<id, 20 digits>      type, id, at, user, text, html, clientId,
//	                                         deletedId, tomb, gsi1pk, gsi1sk, expiresAt
//	idempotency key  CID#<clientId>          id, expiresAt
//
// Inside a room the sort keys order as CID#… < EV#… < META, so one ascending
// Query from EV#<after+1> to META returns the events after a point and then
// the head, and one descending Query from META returns the head and then the
// newest events.
//
// A live message also carries gsi1pk = "USER#<user>" and
// gsi1sk = "ROOM#<slug>#EV#<padded id>", which puts it in the sparse global
// secondary index "byUser": the rooms a user wrote in, and the messages to
// clear for one user, are found without a Scan. Deleting a message removes
// both attributes, so tombstones leave the index.
//
// # Ids
//
// Every change appends one event whose id is the head's lastId + 1, in one
// TransactWriteItems with the change itself: the head moves from n to n+1
// under the condition lastId = n (attribute_not_exists(lastId) for n = 0)
// and the event is put under attribute_not_exists(pk). Ids are therefore
// gap-free and never reused, whatever the retries below do.
//
// A store remembers the head it last saw in each room, so a warm function
// that wrote to the room before sends the transaction straight away: one
// DynamoDB call per uncontended write. Only the first write to a room
// after a cold start reads the head first (a strongly consistent GetItem).
// The remembered head is a guess that the condition checks; a stale one
// costs one cancelled transaction, which returns the current head, never a
// wrong id.
//
// A writer that loses the race tries again until a time budget is spent
// (DefaultRetryBudget, 2 s, well inside a Lambda's timeout), then gives up
// with chat.ErrConflict. Between attempts it pauses for a full-jitter time
// whose window starts at 100 ms and shrinks by 5 ms with every race it lost,
// and it stops pausing after 20 lost races or half the budget: newcomers to
// a busy room step back while writers that have waited longest retry at
// once, so nobody starves behind writers that never sleep. A retry without
// a pause starts from the head the failed condition returned (ALL_OLD);
// after a pause it reads the head again.
//
// # Attribute names
//
// pk, sk: keys. lastId: the head's last event id. type: "message", "delete",
// "refresh", "edit" or "reaction". id: the event id (on a CID item: the id
// of the message, or of the edit, it names). at: when
// the event was stored, Unix milliseconds. user, text, html, clientId: the
// message fields; user is also the cleared user of a refresh. deletedId: the
// removed message of a delete event. tomb: true on a message deleted by its
// author or cleared for its user (text, html, user index keys removed).
// target: the message an edit or reaction event is about. editedAt: when a
// message was last edited, Unix milliseconds. rx:<emoji>: the users (a
// string set) who reacted to a message with that emoji. rxId: the id of the
// latest reaction event that changed one of those sets. emoji, on: a
// reaction event's emoji and whether it was added. An edit event holds no
// text: EventsAfter joins the message's current item.
// expiresAt: Unix seconds after which DynamoDB's TTL may remove the item,
// set on events and idempotency keys only when a retention is configured;
// the head never expires.
package dynamo
