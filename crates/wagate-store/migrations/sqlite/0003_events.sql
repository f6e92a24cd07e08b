-- The event log: every event, appended before anyone hears of it, with a
-- per-deployment sequence number that every consumer reads by cursor.
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    event       TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_session_seq ON events (session_id, seq);
CREATE INDEX IF NOT EXISTS events_tenant_seq ON events (tenant_id, seq);
CREATE INDEX IF NOT EXISTS events_created ON events (created_at);
