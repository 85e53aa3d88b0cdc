-- Analyses of sessions (SPEC §3): anl_ documents, computed in the
-- background; status processing → completed | failed.
CREATE TABLE analyses (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    session_id TEXT NOT NULL
);
CREATE INDEX analyses_session ON analyses (session_id, id);
CREATE INDEX analyses_status ON analyses (status, id);
