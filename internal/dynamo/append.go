package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fanout-chat/serverless-chat/internal/chat"
)

// DefaultRetryBudget is how long a write keeps trying to win the race for
// the next event id before it fails with chat.ErrConflict. It is a time, not a count: how many
// attempts a writer needs grows with the number of writers on the room, how
// long it may wait does not (a Lambda has a few seconds, not a few rounds).
const DefaultRetryBudget = 2 * time.Second

// Pause after a lost race for the next event id: full jitter over a window
// that starts at backoffFirst and shrinks by backoffShrink with every race
// the write lost, down to no pause at all (see Store.backoff for why it
// shrinks rather than grows).
const (
	backoffFirst  = 100 * time.Millisecond
	backoffShrink = 5 * time.Millisecond
)

// maxHeads bounds the rooms whose head a store remembers; past it, one
// room it remembers is forgotten for each new one (a forgotten head costs
// one read the next time).
const maxHeads = 1024

// heads is the last id a store saw at the head of each room: after its own
// writes, after a read of the head, and from the head a failed condition
// returned. It is only a guess: the head's condition in the transaction
// decides, so a stale guess costs a cancelled transaction (which returns
// the current head), never a wrong id.
type heads struct {
	mu   sync.Mutex
	last map[string]int64
}

// get returns the head remembered for room, if any.
func (h *heads) get(room string) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.last[room]
	return id, ok
}

// set remembers id as room's head.
func (h *heads) set(room string, id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.last[room]; !ok && len(h.last) >= maxHeads {
		for r := range h.last {
			delete(h.last, r)
			break
		}
	}
	h.last[room] = id
}

// lastID reads the room's head: its last event id, 0 for a room without
// events. The read is strongly consistent: it decides the next id.
func (s *Store) lastID(ctx context.Context, room string) (int64, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(roomPK(room), skHead),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#l"),
		ExpressionAttributeNames: map[string]string{"#l": attrLastID},
	})
	if err != nil {
		return 0, fmt.Errorf("read head of %s: %w", room, err)
	}
	id, err := getN(out.Item, attrLastID)
	if err != nil {
		return 0, fmt.Errorf("read head of %s: %w", room, err)
	}
	return id, nil
}

// eventBuilder makes the item of the event with id, stamped at, and the
// other writes that must commit with it.
type eventBuilder func(id int64, at time.Time) (event map[string]types.AttributeValue, extra []types.TransactWriteItem)

// cancelCheck looks at the cancellation reasons of the extra writes of a
// cancelled transaction. A non-nil error ends the append with that error;
// nil means the transaction lost the race for the id (or hit a transient
// conflict) and is tried again.
type cancelCheck func(extra []types.CancellationReason) error

// appendEvent appends the event that build makes as the room's next event,
// atomically with build's extra writes, in one TransactWriteItems that moves
// the head from n to n+1 under the condition that it is still n.
//
// n is the head this store last saw (s.heads): a warm store that wrote to
// the room before, and whose guess is still right, appends with that one
// call. Without a guess (the first write to the room since a cold start) it
// first reads the head, strongly consistent. A lost race — another writer
// moved the head — is tried again, after the pause that s.backoff chooses,
// until the retry budget (and the optional attempt bound) is spent; then the
// append fails with chat.ErrConflict. A retry without a pause starts from
// the head that the failed condition returned (ALL_OLD), which is fresh, so
// a stale guess costs one more transaction and no read; after a pause that
// head is stale, so it reads the head again.
//
// Every attempt writes under the head condition, so neither a guess nor a
// retry can skip or reuse an id, and the transaction stores the event, its
// extra writes and the new head together or not at all.
func (s *Store) appendEvent(ctx context.Context, room string, build eventBuilder, check cancelCheck) (int64, time.Time, error) {
	start := time.Now()
	deadline := start.Add(s.retryBudget)
	last, known := s.heads.get(room)
	// guessed is true while last is the remembered head, not one just read
	// or returned: its failure is a stale guess, not a lost race.
	guessed := known
	lost := 0
	for attempt := 1; ; attempt++ {
		if !known {
			var err error
			if last, err = s.lastID(ctx, room); err != nil {
				return 0, time.Time{}, err
			}
			s.heads.set(room, last)
		}
		wasGuess := guessed
		known, guessed = false, false
		id, at := last+1, s.now()
		event, extra := build(id, at)
		items := make([]types.TransactWriteItem, 0, 2+len(extra))
		items = append(items, s.headUpdate(room, last, id), types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     event,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}})
		items = append(items, extra...)
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			s.heads.set(room, id)
			if attempt > 1 {
				s.log.DebugContext(ctx, "dynamo: won the next event id",
					slog.String("room", room), slog.Int64("id", id), slog.Int("attempts", attempt),
					slog.Duration("waited", time.Since(start)))
			}
			return id, at, nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return 0, time.Time{}, fmt.Errorf("write event %s/%d: %w", room, id, err)
		}
		if reasons := cancelled.CancellationReasons; len(reasons) == len(items) {
			if err := check(reasons[2:]); err != nil {
				return 0, time.Time{}, err
			}
			// The failed head condition returned the head as it is now:
			// an immediate retry needs no read of its own.
			// (An empty item says nothing: the head is gone, or the server
			// did not return it. Then the head is read again.)
			if failed(reasons[0]) && len(reasons[0].Item) > 0 {
				if now, err := getN(reasons[0].Item, attrLastID); err == nil && now != last {
					last, known = now, true
					s.heads.set(room, now)
				}
			}
		}
		if wasGuess && known && (s.maxAttempts == 0 || attempt < s.maxAttempts) {
			// The head moved since this store last saw it (another
			// function wrote): not a race lost, so try the head the
			// condition returned at once.
			continue
		}
		lost++
		pause := s.pause(lost, time.Since(start))
		if pause > 0 {
			known = false
		}
		if (s.maxAttempts > 0 && attempt >= s.maxAttempts) || time.Now().Add(pause).After(deadline) {
			s.log.WarnContext(ctx, "dynamo: gave up on the next event id",
				slog.String("room", room), slog.Int("attempts", attempt), slog.Duration("waited", time.Since(start)),
				slog.String("reason", reasonCodes(cancelled)))
			return 0, time.Time{}, fmt.Errorf("write event %s after %d attempts: %w", room, attempt, chat.ErrConflict)
		}
		s.log.DebugContext(ctx, "dynamo: lost the race for the next event id",
			slog.String("room", room), slog.Int64("id", id), slog.Int("attempt", attempt),
			slog.Duration("pause", pause), slog.String("reason", reasonCodes(cancelled)))
		if err := sleep(ctx, pause); err != nil {
			return 0, time.Time{}, fmt.Errorf("write event %s: %w", room, err)
		}
	}
}

// headUpdate moves the room's head from last to next, only if it is still
// at last.
func (s *Store) headUpdate(room string, last, next int64) types.TransactWriteItem {
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(roomPK(room), skHead),
		UpdateExpression:          aws.String("SET #l = :next"),
		ExpressionAttributeNames:  map[string]string{"#l": attrLastID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": numAV(next)},
		// A lost race returns the current head in the cancellation reason.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if last == 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#l)")
	} else {
		u.ConditionExpression = aws.String("#l = :last")
		u.ExpressionAttributeValues[":last"] = numAV(last)
	}
	return types.TransactWriteItem{Update: u}
}

// codeConditionFailed is the cancellation reason code of an item whose
// condition failed.
const codeConditionFailed = "ConditionalCheckFailed"

// failed reports whether a cancellation reason says the item's condition
// failed.
func failed(r types.CancellationReason) bool { return aws.ToString(r.Code) == codeConditionFailed }

// reasonCodes lists the cancellation codes of a transaction, for logs.
func reasonCodes(e *types.TransactionCanceledException) string {
	var b []byte
	for i, r := range e.CancellationReasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, aws.ToString(r.Code)...)
	}
	return string(b)
}

// backoff is the pause after the lost-th lost race of a write that has been
// trying for waited: full jitter over
// [0, backoffFirst - (lost-1)·backoffShrink), and none once that window is
// empty (from the 21st lost race on) or half the retry budget is gone.
//
// The window shrinks, unlike the usual exponential backoff, because what
// turns a busy room into 503s is starvation, not load: a writer sleeping in
// a growing window keeps losing to writers that do not sleep (a fresh send,
// or the winner's next one), however many attempts it is given. Shrinking
// ranks writers by how long they have waited, as an age-based contention
// manager does: a newcomer that collides steps back for a while, which
// spreads the many and keeps their doomed transactions off the table, while
// a writer that kept losing soon retries at once with the head its failed
// condition returned and then competes only with the few other veterans.
// docs/benchmarks.md has the measurement that chose it.
func (s *Store) backoff(lost int, waited time.Duration) time.Duration {
	window := backoffFirst - time.Duration(lost-1)*backoffShrink
	if window <= 0 || waited >= s.retryBudget/2 {
		return 0
	}
	return rand.N(window)
}

// sleep waits d, or until ctx is done; with d <= 0 it only checks ctx.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
