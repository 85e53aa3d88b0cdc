package store

import (
	"context"
	"database/sql"
	"time"
)

// Idempotency record states.
const (
	IdempotencyRunning = "running"
	IdempotencyDone    = "done"
)

// IdempotentResponse is what was stored for an Idempotency-Key.
type IdempotentResponse struct {
	RequestHash string
	State       string
	StatusCode  int
	ContentType string
	Body        []byte
	Created     time.Time
}

// BeginIdempotent claims key for a request. It returns nil when the caller
// now owns the key and must run the request (then FinishIdempotent or
// AbandonIdempotent), or the existing record when another request claimed it.
// Records past their expiry, and running claims older than stale (a crashed
// request), are replaced.
func (s *Store) BeginIdempotent(ctx context.Context, sc Scope, key, requestHash string, ttl, stale time.Duration) (*IdempotentResponse, error) {
	now := s.Now()
	var existing *IdempotentResponse
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM idempotency_keys WHERE org_id = ? AND livemode = ? AND key = ?
			AND (expires_at < ? OR (state = ? AND created_at < ?))`),
			sc.OrgID, boolInt(sc.Livemode), key, micros(now), IdempotencyRunning, micros(now.Add(-stale))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO idempotency_keys (org_id, livemode, key, request_hash, state, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			sc.OrgID, boolInt(sc.Livemode), key, requestHash, IdempotencyRunning, micros(now), micros(now.Add(ttl)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var (
			r       IdempotentResponse
			body    string
			created int64
		)
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT request_hash, state, status_code, content_type, body, created_at
			FROM idempotency_keys WHERE org_id = ? AND livemode = ? AND key = ?`), sc.OrgID, boolInt(sc.Livemode), key).
			Scan(&r.RequestHash, &r.State, &r.StatusCode, &r.ContentType, &body, &created)
		if err != nil {
			return err
		}
		r.Body, r.Created = []byte(body), fromMicros(created)
		existing = &r
		return nil
	})
	return existing, err
}

// FinishIdempotent stores the response of the request that owns key.
func (s *Store) FinishIdempotent(ctx context.Context, sc Scope, key string, status int, contentType string, body []byte) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`UPDATE idempotency_keys SET state = ?, status_code = ?, content_type = ?, body = ?
		WHERE org_id = ? AND livemode = ? AND key = ?`),
		IdempotencyDone, status, contentType, string(body), sc.OrgID, boolInt(sc.Livemode), key)
	return err
}

// AbandonIdempotent releases key so that a retry runs again (after a server error).
func (s *Store) AbandonIdempotent(ctx context.Context, sc Scope, key string) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`DELETE FROM idempotency_keys WHERE org_id = ? AND livemode = ? AND key = ?`),
		sc.OrgID, boolInt(sc.Livemode), key)
	return err
}

// DeleteExpiredIdempotency removes records past their expiry.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.rebind(`DELETE FROM idempotency_keys WHERE expires_at < ?`), micros(s.Now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
