package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Table names one of the document tables that hold API resources.
type Table string

// The document tables.
const (
	Agents       Table = "agents"
	PhoneNumbers Table = "phone_numbers"
	Sessions     Table = "sessions"
	Calls        Table = "calls"
	SIPTrunks    Table = "sip_trunks"
	// WebhookEndpoints holds the wh_ endpoints (owned by package webhook).
	WebhookEndpoints Table = "webhook_endpoints"
	// Recordings holds the rec_ files of sessions (owned by package session).
	Recordings Table = "recordings"
	// Analyses holds the anl_ analyses of sessions (owned by package analysis).
	Analyses Table = "analyses"
)

// Scope is the slice of data an API key sees: one organization, live or test.
type Scope struct {
	OrgID    string
	Livemode bool
}

// Record is one API resource as stored. Data is the resource's JSON, owned
// by the package that defines the resource; the other fields are indexed.
type Record struct {
	ID       string
	Scope    Scope
	Status   string
	Number   string // phone_numbers only
	Session  string // calls, recordings and analyses: the session the record belongs to
	Dir      string // calls only: inbound or outbound
	Data     []byte
	Created  time.Time
	Updated  time.Time
	Activity time.Time // sessions only: last sign of life, for the idle timeout
}

// ListQuery selects a page of records, newest first.
type ListQuery struct {
	Limit         int
	StartingAfter string // return records older than this ID
	EndingBefore  string // return records newer than this ID
	Status        string // optional filter
	SessionID     string // optional filter (calls, recordings)
	Direction     string // optional filter (calls)
}

func columns(t Table) string {
	switch t {
	case PhoneNumbers:
		return "id, org_id, livemode, status, data, created_at, updated_at, number"
	case Sessions:
		return "id, org_id, livemode, status, data, created_at, updated_at, activity_at"
	case Calls:
		return "id, org_id, livemode, status, data, created_at, updated_at, session_id, direction"
	case Recordings, Analyses:
		return "id, org_id, livemode, status, data, created_at, updated_at, session_id"
	}
	return "id, org_id, livemode, status, data, created_at, updated_at"
}

type scanner interface{ Scan(dest ...any) error }

func scanRecord(t Table, row scanner) (Record, error) {
	var (
		r                Record
		live             int
		data             string
		created, updated int64
		extra, extra2    sql.NullString
		activity         sql.NullInt64
	)
	dest := []any{&r.ID, &r.Scope.OrgID, &live, &r.Status, &data, &created, &updated}
	switch t {
	case PhoneNumbers:
		dest = append(dest, &extra)
	case Sessions:
		dest = append(dest, &activity)
	case Calls:
		dest = append(dest, &extra, &extra2)
	case Recordings, Analyses:
		dest = append(dest, &extra)
	}
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Record{}, ErrNotFound
		}
		return Record{}, err
	}
	r.Scope.Livemode = live == 1
	r.Data = []byte(data)
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	switch t {
	case Calls:
		r.Session, r.Dir = extra.String, extra2.String
	case Recordings, Analyses:
		r.Session = extra.String
	default:
		r.Number = extra.String
	}
	if activity.Valid {
		r.Activity = fromMicros(activity.Int64)
	}
	return r, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) get(ctx context.Context, q querier, t Table, sc Scope, id string) (Record, error) {
	row := q.QueryRowContext(ctx, s.rebind(`SELECT `+columns(t)+` FROM `+string(t)+
		` WHERE id = ? AND org_id = ? AND livemode = ?`), id, sc.OrgID, boolInt(sc.Livemode))
	return scanRecord(t, row)
}

// Get returns the record with this ID in the scope, or ErrNotFound.
func (s *Store) Get(ctx context.Context, t Table, sc Scope, id string) (Record, error) {
	return s.get(ctx, s.read, t, sc, id)
}

// Lookup returns a record by ID whatever its scope (for routing inbound calls).
func (s *Store) Lookup(ctx context.Context, t Table, id string) (Record, error) {
	row := s.read.QueryRowContext(ctx, s.rebind(`SELECT `+columns(t)+` FROM `+string(t)+` WHERE id = ?`), id)
	return scanRecord(t, row)
}

// List returns one page of records in the scope, newest first, and whether
// more records lie beyond it in the direction of travel.
func (s *Store) List(ctx context.Context, t Table, sc Scope, lq ListQuery) ([]Record, bool, error) {
	where := []string{"org_id = ?", "livemode = ?"}
	args := []any{sc.OrgID, boolInt(sc.Livemode)}
	for col, v := range map[string]string{"status": lq.Status, "session_id": lq.SessionID, "direction": lq.Direction} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	return queryPage(ctx, s, `SELECT `+columns(t)+` FROM `+string(t), lq, where, args,
		func(row scanner) (Record, error) { return scanRecord(t, row) })
}

// FindPhoneNumber returns the phone number record for an E.164 number.
func (s *Store) FindPhoneNumber(ctx context.Context, livemode bool, number string) (Record, error) {
	row := s.read.QueryRowContext(ctx, s.rebind(`SELECT `+columns(PhoneNumbers)+
		` FROM phone_numbers WHERE livemode = ? AND number = ?`), boolInt(livemode), number)
	return scanRecord(PhoneNumbers, row)
}

// IdleSessions returns the IDs of sessions not ended whose last activity is
// before the cutoff.
func (s *Store) IdleSessions(ctx context.Context, cutoff time.Time) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+columns(Sessions)+
		` FROM sessions WHERE status <> 'ended' AND activity_at < ? ORDER BY id`), micros(cutoff))
	if err != nil {
		return nil, err
	}
	return scanAll(Sessions, rows)
}

// Tx is a write transaction. Every state change and the event that reports
// it are written through one Tx, so the outbox never misses or invents one.
type Tx struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
}

// Update runs fn in a write transaction and commits when it returns nil.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(&Tx{s: s, tx: tx, ctx: ctx}) })
}

// Now is the store's clock.
func (tx *Tx) Now() time.Time { return tx.s.Now() }

// Get reads a record inside the transaction.
func (tx *Tx) Get(t Table, sc Scope, id string) (Record, error) {
	return tx.s.get(tx.ctx, tx.tx, t, sc, id)
}

// LockOrg serializes transactions of one organization (PostgreSQL row lock;
// SQLite transactions are serialized already).
func (tx *Tx) LockOrg(orgID string) error {
	if !tx.s.postgres {
		return nil
	}
	_, err := tx.tx.ExecContext(tx.ctx, `SELECT id FROM orgs WHERE id = $1 FOR UPDATE`, orgID)
	return err
}

// CountLiveSessions counts the organization's sessions that have not ended,
// in live and test mode together.
func (tx *Tx) CountLiveSessions(orgID string) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, tx.s.rebind(`SELECT COUNT(*) FROM sessions WHERE org_id = ? AND status <> 'ended'`), orgID).Scan(&n)
	return n, err
}

// Insert adds a record. A duplicate ID or phone number gives ErrConflict.
func (tx *Tx) Insert(t Table, r Record) error {
	cols := "id, org_id, livemode, status, data, created_at, updated_at"
	args := []any{r.ID, r.Scope.OrgID, boolInt(r.Scope.Livemode), r.Status, string(r.Data), micros(r.Created), micros(r.Updated)}
	switch t {
	case PhoneNumbers:
		cols += ", number"
		args = append(args, r.Number)
	case Sessions:
		cols += ", activity_at"
		args = append(args, micros(r.Activity))
	case Calls:
		cols += ", session_id, direction"
		args = append(args, r.Session, r.Dir)
	case Recordings, Analyses:
		cols += ", session_id"
		args = append(args, r.Session)
	}
	res, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`INSERT INTO `+string(t)+` (`+cols+`) VALUES (`+placeholders(len(args))+`) ON CONFLICT DO NOTHING`), args...)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", t, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// Put overwrites a record's status, data and times.
func (tx *Tx) Put(t Table, r Record) error {
	q := `UPDATE ` + string(t) + ` SET status = ?, data = ?, updated_at = ?`
	args := []any{r.Status, string(r.Data), micros(r.Updated)}
	if t == Sessions {
		q += `, activity_at = ?`
		args = append(args, micros(r.Activity))
	}
	q += ` WHERE id = ? AND org_id = ? AND livemode = ?`
	args = append(args, r.ID, r.Scope.OrgID, boolInt(r.Scope.Livemode))
	res, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("update %s: %w", t, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Delete removes a record.
func (tx *Tx) Delete(t Table, sc Scope, id string) error {
	res, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`DELETE FROM `+string(t)+` WHERE id = ? AND org_id = ? AND livemode = ?`),
		id, sc.OrgID, boolInt(sc.Livemode))
	if err != nil {
		return fmt.Errorf("delete from %s: %w", t, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// All returns every record of a table, in every scope (small tables only:
// SIP trunks, which the SIP server matches inbound sources against).
func (s *Store) All(ctx context.Context, t Table) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+columns(t)+` FROM `+string(t)+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return scanAll(t, rows)
}

// Lookup reads a record by ID whatever its scope, inside a transaction.
func (tx *Tx) Lookup(t Table, id string) (Record, error) {
	row := tx.tx.QueryRowContext(tx.ctx, tx.s.rebind(`SELECT `+columns(t)+` FROM `+string(t)+` WHERE id = ?`), id)
	return scanRecord(t, row)
}

// OpenSessions returns the scope's sessions that have not ended.
func (s *Store) OpenSessions(ctx context.Context, sc Scope) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+columns(Sessions)+
		` FROM sessions WHERE org_id = ? AND livemode = ? AND status <> 'ended' ORDER BY id`), sc.OrgID, boolInt(sc.Livemode))
	if err != nil {
		return nil, err
	}
	return scanAll(Sessions, rows)
}

func scanAll(t Table, rows *sql.Rows) ([]Record, error) {
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Recordings returns every recording with the status, in every scope
// (those still "recording" after a restart are finished at start).
func (s *Store) RecordingsWithStatus(ctx context.Context, status string) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+columns(Recordings)+
		` FROM recordings WHERE status = ? ORDER BY id`), status)
	if err != nil {
		return nil, err
	}
	return scanAll(Recordings, rows)
}

// RecordingsCreatedBefore returns up to limit recordings created before the
// cutoff, oldest first, in every scope (retention).
func (s *Store) RecordingsCreatedBefore(ctx context.Context, cutoff time.Time, limit int) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+columns(Recordings)+
		` FROM recordings WHERE created_at < ? ORDER BY created_at LIMIT ?`), micros(cutoff), limit)
	if err != nil {
		return nil, err
	}
	return scanAll(Recordings, rows)
}
