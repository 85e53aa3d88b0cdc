-- Webhook endpoints and deliveries, recordings and transcript turns.

-- The outbox is read by the webhook dispatcher: an event is dispatched once
-- its deliveries have been written (in the same transaction).
ALTER TABLE events ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_pending ON events (dispatched, id);

CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, livemode, id);

-- One row per (event, target): a target is a webhook endpoint (wh_) or a
-- session's own webhook_url (sess_). A delivery is leased by the worker
-- sending it; a lease that runs out (a crash mid-send) makes it due again.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    target          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_attempt_at BIGINT,
    response_status INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    UNIQUE (target, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_target ON webhook_deliveries (target, id);

CREATE TABLE recordings (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    session_id TEXT NOT NULL
);
CREATE INDEX recordings_session ON recordings (session_id, id);
CREATE INDEX recordings_status ON recordings (status, id);
CREATE INDEX recordings_created ON recordings (created_at);

-- A transcript is its session's turns in order (SPEC §3 transcript.turns).
CREATE TABLE transcript_turns (
    session_id           TEXT NOT NULL,
    sequence             INTEGER NOT NULL,
    speaker              TEXT NOT NULL,
    language             TEXT NOT NULL,
    text                 TEXT NOT NULL,
    translation_language TEXT NOT NULL DEFAULT '',
    translation_text     TEXT NOT NULL DEFAULT '',
    start_ms             BIGINT NOT NULL,
    end_ms               BIGINT NOT NULL,
    confidence           DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    PRIMARY KEY (session_id, sequence)
);
