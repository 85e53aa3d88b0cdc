package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Org is an organization: the owner of keys and resources.
type Org struct {
	ID                    string
	Name                  string
	MaxConcurrentSessions int // 0: the gateway's default
	Created               time.Time
}

// APIKey is a stored API key. Only the SHA-256 of the secret is kept.
type APIKey struct {
	ID                 string
	OrgID              string
	Name               string
	Livemode           bool
	Hash               string // hex SHA-256 of the whole key
	Hint               string // "sk_live_…wxyz": enough to recognise it, not to use it
	Scopes             []string
	RateLimitPerMinute int // 0: the gateway's default
	Created            time.Time
	LastUsed           *time.Time
	Revoked            *time.Time
}

// EnsureOrg returns the organization with this name, creating it if needed.
func (s *Store) EnsureOrg(ctx context.Context, newID, name string) (Org, error) {
	var o Org
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
			newID, name, micros(s.Now()))
		if err != nil {
			return err
		}
		var created int64
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT id, name, max_concurrent_sessions, created_at FROM orgs WHERE name = ?`), name).
			Scan(&o.ID, &o.Name, &o.MaxConcurrentSessions, &created)
		o.Created = fromMicros(created)
		return err
	})
	return o, err
}

// Org returns an organization by ID.
func (s *Store) Org(ctx context.Context, orgID string) (Org, error) {
	var (
		o       Org
		created int64
	)
	err := s.read.QueryRowContext(ctx, s.rebind(`SELECT id, name, max_concurrent_sessions, created_at FROM orgs WHERE id = ?`), orgID).
		Scan(&o.ID, &o.Name, &o.MaxConcurrentSessions, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, ErrNotFound
	}
	o.Created = fromMicros(created)
	return o, err
}

// SetOrgSessionLimit sets an organization's concurrent-session cap (0: default).
func (s *Store) SetOrgSessionLimit(ctx context.Context, orgID string, limit int) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`UPDATE orgs SET max_concurrent_sessions = ? WHERE id = ?`), limit, orgID)
	return err
}

// CreateAPIKey stores a key.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`INSERT INTO api_keys
		(id, org_id, name, livemode, hash, hint, scopes, rate_limit_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.OrgID, k.Name, boolInt(k.Livemode), k.Hash, k.Hint, strings.Join(k.Scopes, " "), k.RateLimitPerMinute, micros(k.Created))
	return err
}

const keyColumns = `id, org_id, name, livemode, hash, hint, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at`

func scanKey(row scanner) (APIKey, error) {
	var (
		k                 APIKey
		live              int
		scopes            string
		created           int64
		lastUsed, revoked sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.OrgID, &k.Name, &live, &k.Hash, &k.Hint, &scopes, &k.RateLimitPerMinute, &created, &lastUsed, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return APIKey{}, ErrNotFound
		}
		return APIKey{}, err
	}
	k.Livemode = live == 1
	k.Scopes = strings.Fields(scopes)
	k.Created = fromMicros(created)
	k.LastUsed, k.Revoked = fromNullMicros(lastUsed), fromNullMicros(revoked)
	return k, nil
}

// APIKeyByHash finds a key by the hash of its secret (revoked keys included;
// the caller decides).
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	return scanKey(s.read.QueryRowContext(ctx, s.rebind(`SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`), hash))
}

// APIKey returns one of an organization's keys.
func (s *Store) APIKey(ctx context.Context, orgID, keyID string) (APIKey, error) {
	return scanKey(s.read.QueryRowContext(ctx, s.rebind(`SELECT `+keyColumns+` FROM api_keys WHERE id = ? AND org_id = ?`), keyID, orgID))
}

// ListAPIKeys returns a page of an organization's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, lq ListQuery) ([]APIKey, bool, error) {
	return queryPage(ctx, s, `SELECT `+keyColumns+` FROM api_keys`, lq, []string{"org_id = ?"}, []any{orgID}, scanKey)
}

// RevokeAPIKey marks a key revoked; it fails at once from then on.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, keyID string) (APIKey, error) {
	res, err := s.write.ExecContext(ctx, s.rebind(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL`),
		micros(s.Now()), keyID, orgID)
	if err != nil {
		return APIKey{}, err
	}
	_, _ = res.RowsAffected() // revoking twice is not an error
	return s.APIKey(ctx, orgID, keyID)
}

// TouchAPIKey records when a key was last used.
func (s *Store) TouchAPIKey(ctx context.Context, keyID string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, s.rebind(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`), micros(at), keyID)
	return err
}

// CountAPIKeys counts all keys in the database.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n)
	return n, err
}
