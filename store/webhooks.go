package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one webhook target: an endpoint (wh_)
// or a session's own webhook_url (sess_).
type Delivery struct {
	ID             string
	Target         string
	EventID        string
	Scope          Scope
	URL            string
	Status         string
	Attempts       int
	NextAttempt    time.Time
	LastAttempt    *time.Time
	ResponseStatus int
	LastError      string
	Created        time.Time

	// The event, read with the delivery.
	EventType    string
	EventData    []byte
	EventCreated time.Time
}

const deliveryColumns = `d.id, d.target, d.event_id, d.org_id, d.livemode, d.url, d.status, d.attempts,
	d.next_attempt_at, d.last_attempt_at, d.response_status, d.last_error, d.created_at, e.type, e.data, e.created_at`

func scanDelivery(row scanner) (Delivery, error) {
	var (
		d                        Delivery
		live                     int
		next, created, evCreated int64
		last                     sql.NullInt64
		data                     string
	)
	err := row.Scan(&d.ID, &d.Target, &d.EventID, &d.Scope.OrgID, &live, &d.URL, &d.Status, &d.Attempts,
		&next, &last, &d.ResponseStatus, &d.LastError, &created, &d.EventType, &data, &evCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, err
	}
	d.Scope.Livemode = live == 1
	d.NextAttempt, d.Created, d.EventCreated = fromMicros(next), fromMicros(created), fromMicros(evCreated)
	d.LastAttempt = fromNullMicros(last)
	d.EventData = []byte(data)
	return d, nil
}

// PendingEvents returns up to limit events not yet dispatched, oldest first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]Event, error) {
	return s.queryEvents(ctx, `WHERE dispatched = 0 ORDER BY id LIMIT ?`, limit)
}

// MarkDispatched records that an event's deliveries have been written.
func (tx *Tx) MarkDispatched(eventID string) error {
	_, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`UPDATE events SET dispatched = 1 WHERE id = ?`), eventID)
	return err
}

// AddDelivery writes a pending delivery due at d.NextAttempt. A delivery of
// the same event to the same target already there is left alone (two nodes
// may dispatch one event).
func (tx *Tx) AddDelivery(d Delivery) error {
	_, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`INSERT INTO webhook_deliveries
		(id, target, event_id, org_id, livemode, url, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		d.ID, d.Target, d.EventID, d.Scope.OrgID, boolInt(d.Scope.Livemode), d.URL, DeliveryPending, micros(d.NextAttempt), micros(d.Created))
	return err
}

// ClaimDeliveries leases up to limit pending deliveries due at now until
// now+lease: no other worker takes them meanwhile. A lease that runs out
// (the process died mid-send) makes them due again. A target never gets
// more than perTarget leases counting the inflight ones it already has.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit, perTarget int, inflight map[string]int) ([]Delivery, error) {
	var ids []any
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		q := `SELECT id, target FROM webhook_deliveries WHERE status = ? AND next_attempt_at <= ? AND lease_until <= ?`
		args := []any{DeliveryPending, micros(now), micros(now)}
		var busy []any
		for t, n := range inflight {
			if n >= perTarget {
				busy = append(busy, t)
			}
		}
		if len(busy) > 0 {
			q += ` AND target NOT IN (` + placeholders(len(busy)) + `)`
			args = append(args, busy...)
		}
		// Look further than limit: the first rows may be one target's backlog.
		q += ` ORDER BY next_attempt_at, id LIMIT ?`
		args = append(args, 8*limit)
		if s.postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.QueryContext(ctx, s.rebind(q), args...)
		if err != nil {
			return err
		}
		taken := map[string]int{}
		for rows.Next() && len(ids) < limit {
			var id, target string
			if err := rows.Scan(&id, &target); err != nil {
				rows.Close()
				return err
			}
			if inflight[target]+taken[target] >= perTarget {
				continue
			}
			taken[target]++
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE webhook_deliveries SET lease_until = ? WHERE id IN (`+placeholders(len(ids))+`)`),
			append([]any{micros(now.Add(lease))}, ids...)...)
		return err
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	rows, err := s.write.QueryContext(ctx, s.rebind(`SELECT `+deliveryColumns+
		` FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id IN (`+placeholders(len(ids))+`)
		ORDER BY d.next_attempt_at, d.id`), ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Delivery, 0, len(ids))
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Attempt is the outcome of one try to deliver.
type Attempt struct {
	At             time.Time
	ResponseStatus int    // 0 when no response came
	Error          string // empty on success
	// Status is the delivery's new status; when pending, Next is when it is
	// tried again.
	Status string
	Next   time.Time
}

// RecordAttempt stores an attempt's outcome and releases the lease.
func (s *Store) RecordAttempt(ctx context.Context, deliveryID string, a Attempt) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
		next_attempt_at = ?, lease_until = 0, last_attempt_at = ?, response_status = ?, last_error = ? WHERE id = ?`),
		a.Status, micros(a.Next), micros(a.At), a.ResponseStatus, a.Error, deliveryID)
	return err
}

// ListDeliveries returns one page of a target's deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, target string, lq ListQuery) ([]Delivery, bool, error) {
	where := []string{"target = ?"}
	args := []any{target}
	if lq.Status != "" {
		where, args = append(where, "status = ?"), append(args, lq.Status)
	}
	// The page query names bare columns: wrap the join so they resolve.
	head := `SELECT * FROM (SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN events e ON e.id = d.event_id) AS q`
	return queryPage(ctx, s, head, lq, where, args, scanDelivery)
}

// WebhookBacklog counts the events not yet dispatched and the deliveries
// not yet succeeded or failed.
func (s *Store) WebhookBacklog(ctx context.Context) (events, deliveries int, err error) {
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE dispatched = 0`).Scan(&events); err != nil {
		return 0, 0, err
	}
	err = s.read.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?`), DeliveryPending).Scan(&deliveries)
	return events, deliveries, err
}
