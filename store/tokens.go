package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AddStreamToken stores the hash of a session's stream token.
func (tx *Tx) AddStreamToken(hash, sessionID string, expires time.Time) error {
	_, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`INSERT INTO stream_tokens (hash, session_id, expires_at) VALUES (?, ?, ?)`),
		hash, sessionID, micros(expires))
	return err
}

// StreamToken returns the session and expiry of a stored token hash, or
// ErrNotFound.
func (s *Store) StreamToken(ctx context.Context, hash string) (sessionID string, expires time.Time, err error) {
	var exp int64
	err = s.read.QueryRowContext(ctx, s.rebind(`SELECT session_id, expires_at FROM stream_tokens WHERE hash = ?`), hash).Scan(&sessionID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, ErrNotFound
	}
	return sessionID, fromMicros(exp), err
}

// DeleteExpiredStreamTokens removes tokens that expired before the cutoff.
func (s *Store) DeleteExpiredStreamTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.rebind(`DELETE FROM stream_tokens WHERE expires_at < ?`), micros(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
