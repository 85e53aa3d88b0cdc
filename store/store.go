// Package store persists voxgate's state: organizations and API keys, the
// API resources, stream tokens, idempotency records and the event outbox.
//
// One implementation over database/sql serves both engines: SQLite (the
// embedded default: WAL, a single writer connection, a busy timeout) and
// PostgreSQL (pgx) for scale-out. Queries are written once with '?'
// placeholders and rebound for PostgreSQL; the embedded migrations are
// portable SQL applied at Open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "github.com/mattn/go-sqlite3"    // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config says where the data lives.
type Config struct {
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://. Empty means SQLite at DataDir/voxgate.db; a sqlite://
	// or file: URL names another SQLite file.
	DatabaseURL string `yaml:"database_url"`
	// DataDir holds the SQLite file (and, for other packages, recordings).
	DataDir string `yaml:"data_dir"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.DatabaseURL == "" && c.DataDir == "" {
		return errors.New("data_dir: must be set when database_url is empty")
	}
	if c.DatabaseURL != "" {
		if _, _, err := c.engine(); err != nil {
			return fmt.Errorf("database_url: %w", err)
		}
	}
	return nil
}

// engine returns the driver name and its data source name.
func (c Config) engine() (driver, dsn string, err error) {
	u := c.DatabaseURL
	switch {
	case u == "":
		return "sqlite3", filepath.Join(c.DataDir, "voxgate.db"), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "pgx", u, nil
	case strings.HasPrefix(u, "sqlite://"):
		return "sqlite3", strings.TrimPrefix(u, "sqlite://"), nil
	case strings.HasPrefix(u, "file:"):
		return "sqlite3", strings.TrimPrefix(u, "file:"), nil
	}
	return "", "", fmt.Errorf("unsupported scheme in %q (want postgres://, sqlite:// or empty)", redactURL(u))
}

// redactURL hides a password in a database URL so it can be logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Store is the database. It is safe for concurrent use.
type Store struct {
	read, write *sql.DB
	postgres    bool
	now         func() time.Time
}

// Open connects to the database named by cfg and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	driver, dsn, _ := cfg.engine()
	s := &Store{postgres: driver == "pgx", now: time.Now}
	if s.postgres {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(8)
		s.read, s.write = db, db
	} else {
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		opts := "_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL&_foreign_keys=1"
		w, err := sql.Open("sqlite3", "file:"+dsn+"?"+opts+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1) // SQLite has one writer; queue here, not in SQLITE_BUSY.
		r, err := sql.Open("sqlite3", "file:"+dsn+"?"+opts+"&_query_only=1")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		r.SetMaxOpenConns(8)
		s.read, s.write = r, w
	}
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s: %w", s.Engine(), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// SetClock replaces the clock used for timestamps (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now returns the store's current time, truncated to microseconds as stored.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

// Close closes the connections.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if s.postgres {
				// Serialize concurrent starts of several nodes.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7710001)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, micros(s.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// placeholders is n '?' placeholders, comma-separated, for a VALUES or IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// rebind turns '?' placeholders into PostgreSQL's $1, $2, ...
func (s *Store) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
