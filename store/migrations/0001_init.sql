-- voxgate schema v1. Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Times are Unix microseconds (BIGINT); JSON documents are TEXT; booleans are 0/1.

CREATE TABLE orgs (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    max_concurrent_sessions INTEGER NOT NULL DEFAULT 0,
    created_at              BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id),
    name                  TEXT NOT NULL,
    livemode              INTEGER NOT NULL,
    hash                  TEXT NOT NULL UNIQUE,
    hint                  TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    rate_limit_per_minute INTEGER NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    last_used_at          BIGINT,
    revoked_at            BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

-- Documents: the API resources. Queryable columns are real columns; the
-- rest of the resource lives in data (JSON), which only its package reads.
CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, livemode, id);

CREATE TABLE phone_numbers (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    number     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (livemode, number)
);
CREATE INDEX phone_numbers_org ON phone_numbers (org_id, livemode, id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    activity_at BIGINT NOT NULL
);
CREATE INDEX sessions_org_status ON sessions (org_id, livemode, status);
CREATE INDEX sessions_status_activity ON sessions (status, activity_at);

CREATE TABLE stream_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX stream_tokens_session ON stream_tokens (session_id);

-- The outbox: every state change writes one row here in the same transaction.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    type       TEXT NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_session ON events (session_id, id);

CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, livemode, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
