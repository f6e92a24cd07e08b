-- Event-bus outputs: brokers (NATS JetStream, RabbitMQ) that receive the
-- event log, each with a durable cursor like a webhook's (the last event
-- the broker confirmed), so a restart or a broker outage loses nothing.
CREATE TABLE IF NOT EXISTS outputs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    -- 1: the operator's output from the environment (every tenant's events).
    global        INTEGER NOT NULL,
    -- Only this session's events; NULL: every session of the tenant.
    session_id    TEXT,
    kind          TEXT NOT NULL,
    -- The broker URL, credentials included (never shown back).
    url           TEXT NOT NULL,
    -- The JetStream stream or the RabbitMQ exchange.
    target        TEXT NOT NULL,
    events        TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL,
    published     INTEGER NOT NULL,
    last_error    TEXT,
    last_error_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outputs_tenant ON outputs (tenant_id);
