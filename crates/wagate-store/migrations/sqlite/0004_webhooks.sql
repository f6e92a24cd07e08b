-- Webhooks: endpoints that receive the event log by HTTP POST, each with a
-- durable cursor (the last event it was given), a per-attempt delivery log,
-- and a queue of explicit redeliveries.
CREATE TABLE IF NOT EXISTS webhooks (
    id              TEXT PRIMARY KEY,
    -- NULL: the global webhook from the environment (every tenant's events).
    session_id      TEXT,
    tenant_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT,
    headers         TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    disabled_reason TEXT,
    last_seq        INTEGER NOT NULL,
    replay_from     INTEGER,
    failing_since   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (session_id, url)
);
CREATE INDEX IF NOT EXISTS webhooks_session ON webhooks (session_id);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    event           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    status_code     INTEGER,
    latency_ms      INTEGER NOT NULL,
    error           TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries (created_at);

CREATE TABLE IF NOT EXISTS webhook_redeliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_redeliveries_hook ON webhook_redeliveries (webhook_id, id);
