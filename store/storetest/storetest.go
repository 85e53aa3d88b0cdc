// Package storetest gives tests a fresh database on every engine the
// machine runs: a SQLite file always, and a new PostgreSQL database on the
// server named by VOXGATE_TEST_DATABASE_URL (make test starts one).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/voxgate/voxgate/store"
)

// Engine is one database engine a test runs against.
type Engine struct {
	Name string
	// Config returns the configuration of a new, empty database for t; the
	// database is dropped when t ends. Opening it twice reaches the same data.
	Config func(t testing.TB) store.Config
}

// Engines lists SQLite and, when configured, PostgreSQL. When
// VOXGATE_TEST_REQUIRE_POSTGRES is set (as make test does) a missing
// PostgreSQL fails the test instead of being left out.
func Engines(t testing.TB) []Engine {
	engines := []Engine{{Name: "sqlite", Config: func(t testing.TB) store.Config {
		return store.Config{DataDir: t.TempDir()}
	}}}
	base := os.Getenv("VOXGATE_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("VOXGATE_TEST_REQUIRE_POSTGRES") != "" {
			t.Fatal("VOXGATE_TEST_DATABASE_URL is not set: run the tests with make test, which starts PostgreSQL")
		}
		t.Log("VOXGATE_TEST_DATABASE_URL not set: PostgreSQL left out (make test runs it)")
		return engines
	}
	return append(engines, Engine{Name: "postgres", Config: func(t testing.TB) store.Config {
		return store.Config{DatabaseURL: newPostgresDatabase(t, base)}
	}})
}

// Open opens a fresh store on the engine and closes it when t ends.
func Open(t testing.TB, e Engine) *store.Store {
	t.Helper()
	return OpenConfig(t, e.Config(t))
}

// OpenConfig opens the store at cfg and closes it when t ends.
func OpenConfig(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newPostgresDatabase(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "vxtest_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
