-- Call legs and SIP trunks.

CREATE TABLE calls (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    direction  TEXT NOT NULL
);
CREATE INDEX calls_org ON calls (org_id, livemode, id);
CREATE INDEX calls_session ON calls (session_id, id);

CREATE TABLE sip_trunks (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sip_trunks_org ON sip_trunks (org_id, livemode, id);
