package store

import (
	"context"
	"time"
)

// Event is one row of the outbox: something that happened, to be delivered
// to webhooks and kept for the record.
type Event struct {
	ID        string
	Scope     Scope
	Type      string
	SessionID string
	Data      []byte // the event envelope's data object, as JSON
	Created   time.Time
}

// AddEvent writes an event in the transaction.
func (tx *Tx) AddEvent(e Event) error {
	_, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`INSERT INTO events (id, org_id, livemode, type, session_id, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), e.ID, e.Scope.OrgID, boolInt(e.Scope.Livemode), e.Type, e.SessionID, string(e.Data), micros(e.Created))
	return err
}

// SessionEvents returns a session's events in the order they happened.
func (s *Store) SessionEvents(ctx context.Context, sessionID string) ([]Event, error) {
	return s.queryEvents(ctx, `WHERE session_id = ? ORDER BY id`, sessionID)
}

// queryEvents reads the events that the clause (WHERE ... ORDER BY ...)
// selects.
func (s *Store) queryEvents(ctx context.Context, clause string, args ...any) ([]Event, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT id, org_id, livemode, type, session_id, data, created_at
		FROM events `+clause), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			e       Event
			live    int
			data    string
			created int64
		)
		if err := rows.Scan(&e.ID, &e.Scope.OrgID, &live, &e.Type, &e.SessionID, &data, &created); err != nil {
			return nil, err
		}
		e.Scope.Livemode, e.Data, e.Created = live == 1, []byte(data), fromMicros(created)
		out = append(out, e)
	}
	return out, rows.Err()
}
